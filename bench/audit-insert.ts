// npx node bench/audit-insert.ts [--events 200000] [--batch 1000] [--ids v7|random] [--keep FILE]
//
// The cost per event of the SQLite audit trail's insert path, in process: request events shaped
// like the gateway's (test/integration/audit/query-fixture.ts), chained by the real chain
// (sha256 links), then written through the real store's writeBatch (openSqliteAuditStore) in
// batches as the batched sink sends them. Prints µs/row for chaining and for writeBatch, and the
// file size. Run under `--cpu-prof` to see where the time goes.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createChain } from '../src/audit/chain.ts';
import { newRequestId } from '../src/gateway/request-id.ts';
import type { ChainedRecord } from '../src/audit/record.ts';
import { openSqliteAuditStore } from '../src/audit/sinks/sqlite-store.ts';
import { generatedRecords } from '../test/integration/audit/query-fixture.ts';

const { values } = parseArgs({ options: { events: { type: 'string', default: '200000' }, batch: { type: 'string', default: '1000' }, ids: { type: 'string', default: 'v7' }, keep: { type: 'string' } } });
const count = Number(values.events);
const batch = Number(values.batch);
const dir = mkdtempSync(join(tmpdir(), 'cortex-audit-insert-'));
const path = values.keep ?? join(dir, 'audit.db');
const now = Date.now();

// Request ids as the gateway makes them (--ids v7, the default: time-ordered, appended at the
// index's right edge), or random UUIDs (--ids random: an index insert anywhere in the b-tree, as
// before gateway/request-id.ts). Events first (not timed), then the real chain over them (timed apart from the store).
if (values.ids !== 'v7' && values.ids !== 'random') throw new Error('--ids: v7 or random');
const makeId = values.ids === 'v7' ? newRequestId : randomUUID;
const events = [...generatedRecords(count, now, 3_600_000)].map((r) => ({ ...r.event, id: makeId() }));
const chain = createChain('bench-host/1234/1764100000000/0a1b2c3d');
let started = performance.now();
const records: ChainedRecord[] = events.map((e) => chain.next(e));
const chainMs = performance.now() - started;

const store = openSqliteAuditStore(path);
started = performance.now();
for (let i = 0; i < records.length; i += batch) await store.writeBatch(records.slice(i, i + batch));
const writeMs = performance.now() - started;
await store.close();

const sizeOf = (f: string): number => {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
};
const bytes = sizeOf(path) + sizeOf(`${path}-wal`);
const perRow = (ms: number): string => ((ms * 1000) / count).toFixed(2);
console.log(
  `${count} events, batches of ${batch}, ${values.ids} ids: chain ${perRow(chainMs)} µs/row, writeBatch ${perRow(writeMs)} µs/row ` +
    `(${Math.round(count / (writeMs / 1000)).toLocaleString('en-US')} rows/s); file ${(bytes / 1e6).toFixed(1)} MB`,
);
if (values.keep === undefined) rmSync(dir, { recursive: true, force: true });
