// Retention prunes the stored checkpoints too: after the cut a writer keeps only its checkpoints at
// or after the new retention checkpoint, and the trail verifies with the whole (append-only)
// checkpoint file, with a file rotated down to the lines at or after the cut, and with none.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createChain } from '../../../src/audit/chain.ts';
import { checkpointLine, parseCheckpointLines, signCheckpoint } from '../../../src/audit/checkpoints.ts';
import type { AuditEvent } from '../../../src/audit/event.ts';
import { pruneTrail } from '../../../src/audit/prune.ts';
import type { ChainedRecord, Checkpoint, DurableAuditStore } from '../../../src/audit/record.ts';
import { openSqliteAuditStore } from '../../../src/audit/sinks/sqlite-store.ts';
import { verifyTrail } from '../../../src/audit/verify.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-03-01T00:00:00Z');
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = { kid: 'k1', alg: 'ES256', privateKey };
const dir = mkdtempSync(join(tmpdir(), 'cortex-prune-cps-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The real SQLite store, with its pruneCheckpoints calls recorded. */
function storeWithCheckpointPruning(file: string): { store: DurableAuditStore; calls: Map<string, number>[] } {
  const store = openSqliteAuditStore(file);
  const calls: Map<string, number>[] = [];
  const prune = store.pruneCheckpoints?.bind(store);
  assert.ok(prune, 'the SQLite store prunes its checkpoints');
  const pruneCheckpoints = (cuts: ReadonlyMap<string, number>): Promise<void> => {
    calls.push(new Map(cuts));
    return prune(cuts);
  };
  return { store: { ...store, pruneCheckpoints }, calls };
}

/** One writer, one event a day for 20 days, a batch checkpoint after every fifth, in the store and the file. */
async function trail(name: string) {
  const { store, calls } = storeWithCheckpointPruning(join(dir, `${name}.db`));
  const lines: string[] = [];
  const chain = createChain('w');
  const records: ChainedRecord[] = [];
  for (let d = 20; d >= 1; d--) records.push(chain.next({ v: 1, type: 'request', id: `w-${d}`, time: new Date(NOW - d * DAY).toISOString() } as unknown as AuditEvent));
  for (let i = 0; i < records.length; i += 5) {
    const batch = records.slice(i, i + 5);
    await store.writeBatch(batch);
    const last = batch.at(-1) as ChainedRecord;
    const cp = await signCheckpoint({ writer: 'w', seq: last.seq, hash: last.hash, time: new Date(NOW - (20 - last.seq) * DAY).toISOString(), reason: 'batch' }, signer);
    await store.writeCheckpoint(cp);
    lines.push(checkpointLine(cp));
  }
  const output = { append: (l: string) => Promise.resolve(void lines.push(l)), close: () => Promise.resolve() };
  return { store, calls, lines, output };
}

const stored = async (store: DurableAuditStore): Promise<[number, string][]> => (await store.checkpoints('w')).map((c: Checkpoint) => [c.seq, c.reason]);

describe('pruneTrail and the stored checkpoints', () => {
  it('deletes the checkpoints below the retention checkpoint, keeps it, and the trail still verifies', async () => {
    const { store, calls, lines, output } = await trail('cps');
    assert.deepEqual(await stored(store), [[5, 'batch'], [10, 'batch'], [15, 'batch'], [20, 'batch']]);
    const first = await pruneTrail({ store, maxAgeMs: 7 * DAY + 1, signer: () => signer, now: () => NOW, output });
    assert.deepEqual([...first.cuts], [['w', 13]]);
    assert.deepEqual(calls, [new Map([['w', 13]])]);
    assert.deepEqual(await stored(store), [[13, 'prune'], [15, 'batch'], [20, 'batch']]);

    const all = parseCheckpointLines(lines.join(''));
    const rotated = all.filter((c) => c.seq >= 13);
    for (const externalCheckpoints of [all, rotated, []]) {
      const report = await verifyTrail(store, { publicKey: () => publicKey, externalCheckpoints });
      assert.equal(report.ok, true, JSON.stringify(report.writers[0]?.problem));
      assert.deepEqual([report.writers[0]?.prunedThrough, report.writers[0]?.verifiedThrough?.seq], [13, 20]);
    }

    // The next cut takes the previous retention checkpoint too: it anchors nothing left.
    await pruneTrail({ store, maxAgeMs: 7 * DAY + 1, signer: () => signer, now: () => NOW + DAY, output });
    assert.deepEqual(await stored(store), [[14, 'prune'], [15, 'batch'], [20, 'batch']]);
    const again = await verifyTrail(store, { publicKey: () => publicKey, externalCheckpoints: parseCheckpointLines(lines.join('')) });
    assert.deepEqual([again.ok, again.writers[0]?.prunedThrough, again.writers[0]?.verifiedThrough?.seq], [true, 14, 20]);
    await store.close();
  });

  it('keeps the checkpoints of a writer a time-only store cut elsewhere than the signed cut', async () => {
    const { store, calls } = await trail('by-time');
    const errors: string[] = [];
    // A store that cuts by time only, and reports it kept another first record than the signed cut's next.
    const byTimeOnly: DurableAuditStore = { ...store, pruneThrough: undefined, prune: () => Promise.resolve(new Map([['w', 12]])) };
    const result = await pruneTrail({ store: byTimeOnly, maxAgeMs: 7 * DAY + 1, signer: () => signer, now: () => NOW, log: { error: (_o, m) => void errors.push(m) } });
    assert.deepEqual([...result.cuts], [['w', 13]]);
    assert.match(errors[0] as string, /deleted other records than the signed cut/);
    assert.deepEqual(calls, []);
    assert.deepEqual(await stored(store), [[5, 'batch'], [10, 'batch'], [13, 'prune'], [15, 'batch'], [20, 'batch']]);
    await store.close();
  });
});
