// The audit-sqlite scenario's measurements beside the load: while the runs go, admin /metrics is
// sampled every second (the sink's queue depth, records committed); after Cortex's last load the
// queue is waited out and the rows in the SQLite file are counted against the requests Cortex
// counted itself (cortex_requests_total), so "every request recorded" is checked, not assumed.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { Prepared, ScenarioContext } from '../scenarios.ts';

export function auditDbFile(ctx: ScenarioContext): string {
  return join(ctx.dir, 'audit.db');
}

interface Sample {
  atMs: number;
  queue: number;
  committed: number;
  requests: number;
}

function sum(text: string, name: string): number {
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) total += Number(m[1]);
  return total;
}

async function sample(adminPort: number): Promise<Sample | undefined> {
  try {
    const res = await request(`http://127.0.0.1:${adminPort}/metrics`);
    const text = await res.body.text();
    return { atMs: Date.now(), queue: sum(text, 'cortex_audit_queue_depth'), committed: sum(text, 'cortex_audit_committed_total'), requests: sum(text, 'cortex_requests_total') };
  } catch {
    return undefined; // Cortex not started yet, or already stopped.
  }
}

export function prepareAuditSqlite(ctx: ScenarioContext): Promise<Prepared> {
  const db = auditDbFile(ctx);
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  rmSync(join(ctx.dir, 'audit-spool'), { recursive: true, force: true });
  const samples: Sample[] = [];
  let sampling = true;
  const loop = (async () => {
    while (sampling) {
      const s = await sample(ctx.adminPort);
      if (s !== undefined) samples.push(s);
      await sleep(1_000);
    }
  })();
  const notes: string[] = [];
  const beforeCortexStops = async (): Promise<void> => {
    sampling = false;
    await loop;
    let last = await sample(ctx.adminPort);
    for (let i = 0; i < 50 && last !== undefined && last.queue > 0; i++) {
      await sleep(100);
      last = await sample(ctx.adminPort);
    }
    let peakRate = 0;
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1] as Sample;
      const b = samples[i] as Sample;
      peakRate = Math.max(peakRate, ((b.committed - a.committed) * 1000) / (b.atMs - a.atMs));
    }
    const maxQueue = Math.max(0, ...samples.map((s) => s.queue));
    const busy = samples.filter((s, i) => i > 0 && s.committed > (samples[i - 1] as Sample).committed);
    const rows = Number((new DatabaseSync(db, { readOnly: true }).prepare("SELECT COUNT(*) AS n FROM audit_records WHERE type = 'request'").get() as { n: number }).n);
    const requests = last?.requests ?? NaN;
    notes.push(
      `Audit trail (SQLite, \`${db}\`, batches of up to 1,000 events or 200 ms): peak ${Math.round(peakRate).toLocaleString('en-US')} events/s ` +
        `committed (admin /metrics sampled every second, ${samples.length} samples, ${busy.length} of them with writes).`,
      `Queue: at most ${maxQueue.toLocaleString('en-US')} records waiting in any sample (cortex_audit_queue_depth), ` +
        `${(last?.queue ?? NaN).toLocaleString('en-US')} after the last load. ` +
        `Recorded: ${rows.toLocaleString('en-US')} request rows in the database for ${requests.toLocaleString('en-US')} requests ` +
        `Cortex counted (cortex_requests_total): ${rows === requests ? 'every request recorded' : `MISMATCH (${(requests - rows).toLocaleString('en-US')} missing)`}.`,
    );
  };
  return Promise.resolve({ notes, beforeCortexStops });
}
