// Retention over the real SQLite store: the prune signs a checkpoint at the cut before deleting, so
// the trail still verifies afterwards (starting at seq > 1); a writer whose old records were
// tampered with is not pruned (the evidence stays).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { createChain } from '../../../src/audit/chain.ts';
import { parseCheckpointLines, signCheckpoint } from '../../../src/audit/checkpoints.ts';
import type { AuditEvent } from '../../../src/audit/event.ts';
import { pruneTrail } from '../../../src/audit/prune.ts';
import type { ChainedRecord } from '../../../src/audit/record.ts';
import { openSqliteAuditStore } from '../../../src/audit/sinks/sqlite-store.ts';
import { verifyTrail } from '../../../src/audit/verify.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-03-01T00:00:00Z');
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = { kid: 'k1', alg: 'ES256', privateKey };
const dir = mkdtempSync(join(tmpdir(), 'cortex-prune-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Two writers, one event a day for 20 days each, a checkpoint after the last. */
async function trail(name: string) {
  const file = join(dir, `${name}.db`);
  const store = openSqliteAuditStore(file);
  for (const writer of ['w-a', 'w-b']) {
    const chain = createChain(writer);
    const records: ChainedRecord[] = [];
    for (let d = 20; d >= 1; d--) records.push(chain.next({ v: 1, type: 'request', id: `${writer}-${d}`, time: new Date(NOW - d * DAY).toISOString() } as unknown as AuditEvent));
    await store.writeBatch(records);
    const last = records.at(-1) as ChainedRecord;
    await store.writeCheckpoint(await signCheckpoint({ writer, seq: last.seq, hash: last.hash, time: new Date(NOW).toISOString(), reason: 'shutdown' }, signer));
  }
  return { store, file };
}

describe('pruneTrail', () => {
  it('cuts each writer at the first record young enough to keep, signed first, and the trail still verifies', async () => {
    const { store } = await trail('ok');
    const lines: string[] = [];
    const result = await pruneTrail({
      store,
      maxAgeMs: 7 * DAY + 1,
      signer: () => signer,
      now: () => NOW,
      output: { append: (l) => Promise.resolve(void lines.push(l)), close: () => Promise.resolve() },
    });
    // Days 20..8 go (13 records); day 7 is the first kept.
    assert.deepEqual([...result.cuts], [['w-a', 13], ['w-b', 13]]);
    assert.deepEqual(parseCheckpointLines(lines.join('')).map((c) => [c.writer, c.seq, c.reason]), [['w-a', 13, 'prune'], ['w-b', 13, 'prune']]);
    assert.equal((await store.records('w-a', 1, 100))[0]?.seq, 14);
    const report = await verifyTrail(store, { publicKey: () => publicKey });
    assert.equal(report.ok, true);
    assert.deepEqual(report.writers.map((w) => [w.prunedThrough, w.verifiedThrough?.seq, w.records]), [[13, 20, 7], [13, 20, 7]]);
    // A second pass a day later cuts one more record each, and the trail still verifies.
    await pruneTrail({ store, maxAgeMs: 7 * DAY + 1, signer: () => signer, now: () => NOW + DAY });
    const again = await verifyTrail(store, { publicKey: () => publicKey });
    assert.equal(again.ok, true);
    assert.deepEqual(again.writers.map((w) => w.prunedThrough), [14, 14]);
    await store.close();
  });

  it('cuts a prefix only: a record older than the cut that was chained after it (a long request) stays', async () => {
    const file = join(dir, 'straggler.db');
    const store = openSqliteAuditStore(file);
    const chain = createChain('w-s');
    // Days 10, 9, 8, then a request started 12 days ago that ended after them, then day 2.
    const days = [10, 9, 8, 3, 12, 2];
    await store.writeBatch(days.map((d) => chain.next({ v: 1, type: 'request', id: `s-${d}`, time: new Date(NOW - d * DAY).toISOString() } as unknown as AuditEvent)));
    const result = await pruneTrail({ store, maxAgeMs: 7 * DAY, signer: () => signer, now: () => NOW });
    assert.deepEqual([...result.cuts], [['w-s', 3]]);
    assert.deepEqual((await store.records('w-s', 1, 10)).map((r) => r.seq), [4, 5, 6]);
    const report = await verifyTrail(store, { publicKey: () => publicKey });
    assert.deepEqual([report.ok, report.writers[0]?.prunedThrough, report.writers[0]?.unsignedTail], [true, 3, { from: 4, to: 6 }]);
    await store.close();
  });

  it('leaves a writer whose old records were tampered with alone', async () => {
    const { store, file } = await trail('tampered');
    const db = new DatabaseSync(file);
    db.prepare("UPDATE audit_records SET json = replace(json, 'w-a-15', 'w-a-99') WHERE writer = 'w-a' AND seq = 6").run();
    db.close();
    const errors: string[] = [];
    const result = await pruneTrail({ store, maxAgeMs: 7 * DAY + 1, signer: () => signer, now: () => NOW, log: { info: () => undefined, error: (_o, m) => void errors.push(m) } });
    assert.deepEqual(result.refused, ['w-a']);
    assert.match(errors[0] as string, /not pruning writer w-a: seq 6: the record was edited/);
    assert.deepEqual([...result.cuts], [['w-b', 13]]);
    assert.equal((await store.records('w-a', 1, 1))[0]?.seq, 1);
    const report = await verifyTrail(store, { publicKey: () => publicKey });
    assert.deepEqual(report.writers.map((w) => [w.writer, w.problem?.kind, w.problem?.seq, w.prunedThrough]), [['w-a', 'edited', 6, undefined], ['w-b', undefined, undefined, 13]]);
    // A store that can only cut by time, for every writer at once, would take w-a's evidence too: nothing goes.
    const byTimeOnly = { ...store, pruneThrough: undefined };
    const none = await pruneTrail({ store: byTimeOnly, maxAgeMs: 7 * DAY + 1, signer: () => signer, now: () => NOW + DAY });
    assert.deepEqual([none.cuts.size, none.refused], [0, ['w-a']]);
    assert.equal((await store.records('w-a', 1, 1))[0]?.seq, 1);
    await store.close();
  });
});
