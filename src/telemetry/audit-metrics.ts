// Audit trail metrics, read from each sink's own counters when Prometheus scrapes (nothing is
// counted on the request path): queue depth, spool size, drops, and batches written by result.
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { SinkStats } from '../audit/sink.ts';

export function registerAuditMetrics(registry: Registry, stats: () => Record<string, SinkStats> | undefined): void {
  const gauge = (name: string, help: string, pick: (s: SinkStats) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['sink'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [sink, s] of Object.entries(stats() ?? {})) this.set({ sink }, pick(s));
      },
    });
  };
  gauge('cortex_audit_queue_depth', 'Audit records queued for a sink and not yet written (a growing queue means the sink cannot keep up).', (s) => s.queueDepth);
  gauge('cortex_audit_spool_bytes', 'Bytes of audit records waiting in a sink\'s spool file to be replayed (non-zero while the sink is or was down).', (s) => s.spoolBytes);
  new Counter({
    name: 'cortex_audit_dropped_total',
    help: 'Audit records lost by a sink: its destination failed and its spool was full (audit.spool.maxBytes) or unwritable.',
    labelNames: ['sink'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [sink, s] of Object.entries(stats() ?? {})) this.inc({ sink }, s.dropped);
    },
  });
  new Counter({
    name: 'cortex_audit_batches_total',
    help: 'Batches a durable audit sink wrote (ok) or failed to write (error: spooled), spool replays included.',
    labelNames: ['sink', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [sink, s] of Object.entries(stats() ?? {})) {
        this.inc({ sink, result: 'ok' }, s.batchesOk);
        this.inc({ sink, result: 'error' }, s.batchesError);
      }
    },
  });
  new Counter({
    name: 'cortex_audit_committed_total',
    help: 'Audit records a durable sink committed to its destination (spool replays included).',
    labelNames: ['sink'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [sink, s] of Object.entries(stats() ?? {})) this.inc({ sink }, s.events);
    },
  });
}
