// Builds the gateway's audit log from config.audit: one sink per configured destination (durable
// stores behind a batching queue and a spool, JSON lines as they are), chained by one writer.
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { AuditSinkConfig } from '../config/schema.ts';
import type { GatewayMetrics } from '../telemetry/metrics.ts';
import { createJsonlSink } from './jsonl-sink.ts';
import type { ChainedRecord, DurableAuditStore } from './record.ts';
import { AuditLog } from './sink.ts';
import type { AuditLogLogger, AuditSink } from './sink.ts';
import { createBatchedSink } from './sinks/batched-sink.ts';
import { openPostgresAuditStore } from './sinks/postgres-store.ts';
import { openSqliteAuditStore } from './sinks/sqlite-store.ts';
import { Spool } from './spool.ts';
import { openTrailIntegrity } from './trail-integrity.ts';
import type { TrailIntegrity, TrailIntegrityDeps } from './trail-integrity.ts';

export interface OpenSinksOptions {
  log?: AuditLogLogger & { error(obj: Record<string, unknown>, msg: string): void };
  /** After each batch a durable sink committed (the checkpointer signs the new head). */
  onCommitted?: (sink: string, records: readonly ChainedRecord[]) => void;
  /** Signed checkpoints and retention (trail-integrity.ts). */
  integrity?: TrailIntegrity;
}

export interface OpenedSinks {
  sinks: AuditSink[];
  /** The durable stores by sink name (checkpoints are stored beside the events). */
  stores: Map<string, DurableAuditStore>;
}

/** A sink's name: its type and destination, never a password (the spool file is named after it). */
export function sinkName(s: AuditSinkConfig): string {
  if (s.type === 'postgres') {
    let where = 'postgres';
    try {
      const u = new URL(s.url);
      where = `${u.hostname}:${u.port || '5432'}${u.pathname}`;
    } catch {
      // Not a URL (a libpq keyword string): the table alone names it.
    }
    return `postgres:${where}/${s.table}`;
  }
  return `${s.type}:${s.path}`;
}

function spoolFile(dir: string, name: string): string {
  return join(dir, `${name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 180)}.spool`);
}

export function openAuditSinks(audit: Config['audit'], opts: OpenSinksOptions = {}): OpenedSinks {
  const sinks: AuditSink[] = [];
  const stores = new Map<string, DurableAuditStore>();
  for (const s of audit.sinks) {
    const name = sinkName(s);
    if (s.type === 'jsonl') {
      sinks.push(createJsonlSink(s.path, { name }));
      continue;
    }
    const opened = s.type === 'sqlite' ? openSqliteAuditStore(s.path) : openPostgresAuditStore(s.url, s.table);
    // Checkpoints are stored beside the events, and the shutdown one is signed before the store closes.
    const store = opts.integrity?.attach(name, opened) ?? opened;
    stores.set(name, store);
    sinks.push(
      createBatchedSink({
        name,
        store,
        spool: new Spool(spoolFile(audit.spool.dir, name), audit.spool.maxBytes),
        maxEvents: audit.batch.maxEvents,
        maxDelayMs: audit.batch.maxDelayMs,
        ...(opts.onCommitted ? { onCommitted: (records: readonly ChainedRecord[]) => opts.onCommitted?.(name, records) } : {}),
        onError: (err, what) => opts.log?.warn({ sink: name, err: err instanceof Error ? { message: err.message } : { message: String(err) } }, what),
      }),
    );
  }
  return { sinks, stores };
}

/** The gateway's audit log, its metrics wired: per-sink results, queue, spool, drops, batches. */
export function openGatewayAuditLog(
  audit: Config['audit'],
  deps: { log: AuditLogLogger & { error(obj: Record<string, unknown>, msg: string): void }; metrics: GatewayMetrics; onCommitted?: OpenSinksOptions['onCommitted']; ring?: TrailIntegrityDeps['ring'] },
): { log: AuditLog; stores: Map<string, DurableAuditStore> } {
  // With the key ring: every durable sink's committed batches are checkpointed (and pruned, with retention).
  const integrity = deps.ring === undefined ? undefined : openTrailIntegrity(audit, { ring: deps.ring, log: deps.log });
  const onCommitted = integrity === undefined ? deps.onCommitted : (sink: string, records: readonly ChainedRecord[]) => integrity.onBatchCommitted(sink, records);
  const { sinks, stores } = openAuditSinks(audit, { log: deps.log, ...(onCommitted ? { onCommitted } : {}), ...(integrity ? { integrity } : {}) });
  const log = new AuditLog(sinks, {
    onResult: (sink, result) => deps.metrics.auditEvent(sink, result),
    log: deps.log,
    failClosed: audit.failClosed,
  });
  deps.metrics.setAuditStats(() => log.stats());
  return { log, stores };
}
