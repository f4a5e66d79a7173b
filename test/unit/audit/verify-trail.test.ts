// verifyTrail over the real SQLite store: an intact trail verifies, and each way of changing it
// (edit, delete the newest, recompute the chain and the stored checkpoints, insert, forge) is
// reported as what it is, at the right seq; records after the last checkpoint are an unsigned tail.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { createChain, recordHash } from '../../../src/audit/chain.ts';
import { signCheckpoint } from '../../../src/audit/checkpoints.ts';
import type { CheckpointSigner } from '../../../src/audit/checkpoints.ts';
import type { AuditEvent } from '../../../src/audit/event.ts';
import type { ChainedRecord, Checkpoint, DurableAuditStore } from '../../../src/audit/record.ts';
import { openSqliteAuditStore } from '../../../src/audit/sinks/sqlite-store.ts';
import { describeWriter, verifyTrail } from '../../../src/audit/verify.ts';
import type { WriterReport } from '../../../src/audit/verify.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function keyPair(kid: string): CheckpointSigner & { publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, alg: 'ES256', privateKey, publicKey };
}

function event(i: number): AuditEvent {
  return { v: 1, type: 'request', id: `req-${i}`, time: new Date(T0 + i * 1000).toISOString(), who: { subject: `user-${i % 3}` } } as unknown as AuditEvent;
}

interface Trail {
  file: string;
  store: DurableAuditStore;
  db: DatabaseSync;
  records: ChainedRecord[];
  external: Checkpoint[];
}

const dir = mkdtempSync(join(tmpdir(), 'cortex-verify-'));
const k1 = keyPair('k1');
const k2 = keyPair('k2');
const keys = new Map([k1, k2].map((k) => [k.kid, k.publicKey]));
const publicKey = (kid: string): KeyObject | undefined => keys.get(kid);
let n = 0;

/** 10 records in batches of 3, a checkpoint after each batch (k1 signs the first two, k2 the rest), and at shutdown. */
async function trail(opts: { count?: number; shutdown?: boolean; unsigned?: number } = {}): Promise<Trail> {
  const file = join(dir, `t${++n}.db`);
  const store = openSqliteAuditStore(file);
  const chain = createChain('host/1/0/aaaa');
  const records = Array.from({ length: opts.count ?? 10 }, (_, i) => chain.next(event(i + 1)));
  const external: Checkpoint[] = [];
  const sign = async (r: ChainedRecord, reason: Checkpoint['reason'], signer: CheckpointSigner): Promise<void> => {
    const cp = await signCheckpoint({ writer: r.writer, seq: r.seq, hash: r.hash, time: new Date(T0 + r.seq * 1000).toISOString(), reason }, signer);
    await store.writeCheckpoint(cp);
    external.push(cp);
  };
  for (let i = 0; i < records.length; i += 3) {
    const batch = records.slice(i, i + 3);
    await store.writeBatch(batch);
    await sign(batch.at(-1) as ChainedRecord, 'batch', i < 6 ? k1 : k2);
  }
  if (opts.shutdown !== false) await sign(records.at(-1) as ChainedRecord, 'shutdown', k2);
  // Committed after the last checkpoint (the writer died before it could sign them).
  const tail = Array.from({ length: opts.unsigned ?? 0 }, (_, i) => chain.next(event(records.length + i + 1)));
  if (tail.length > 0) await store.writeBatch(tail);
  records.push(...tail);
  return { file, store, db: new DatabaseSync(file), records, external };
}

async function only(t: Trail, external: Checkpoint[] | undefined = t.external, pageSize?: number): Promise<WriterReport> {
  const report = await verifyTrail(t.store, { publicKey, ...(external ? { externalCheckpoints: external } : {}), ...(pageSize ? { pageSize } : {}) });
  assert.equal(report.writers.length, 1);
  const w = report.writers[0] as WriterReport;
  assert.equal(report.ok, w.problem === undefined);
  return w;
}

/** Rewrites every hash from `fromSeq` on, as an attacker who can write the database would. */
function recompute(db: DatabaseSync, fromSeq: number): void {
  const rows = db.prepare('SELECT seq, prev_hash, json FROM audit_records WHERE seq >= ? ORDER BY seq').all(fromSeq) as { seq: number; prev_hash: string; json: string }[];
  let prev = (rows[0] as { prev_hash: string }).prev_hash;
  for (const r of rows) {
    const hash = recordHash(prev, r.json);
    db.prepare('UPDATE audit_records SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, r.seq);
    prev = hash;
  }
}

describe('verifyTrail', () => {
  const opened: Trail[] = [];
  const open = async (opts?: Parameters<typeof trail>[0]): Promise<Trail> => {
    const t = await trail(opts);
    opened.push(t);
    return t;
  };
  after(async () => {
    for (const t of opened) {
      t.db.close();
      await t.store.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies an intact trail through its last checkpoint, across a key rotation, page by page', async () => {
    const t = await open();
    const w = await only(t, t.external, 4);
    assert.equal(w.problem, undefined);
    assert.deepEqual(w.verifiedThrough, { seq: 10, time: new Date(T0 + 10_000).toISOString() });
    assert.equal(w.records, 10);
    assert.equal(w.unsignedTail, undefined);
    assert.match(describeWriter(w).join('\n'), /ok through seq 10 \(checkpoint at 2026-01-01T00:00:10.000Z\)/);
  });

  it('reports an edited record at its seq', async () => {
    const t = await open();
    t.db.prepare('UPDATE audit_records SET json = replace(json, ?, ?) WHERE seq = 5').run('user-2', 'user-9');
    const w = await only(t);
    assert.deepEqual([w.problem?.kind, w.problem?.seq], ['edited', 5]);
    assert.equal(w.records, 4);
    assert.match(describeWriter(w)[0] as string, /seq 5 edited \(hash mismatch/);
  });

  it('reports the newest record deleted: a checkpoint names a later seq', async () => {
    const t = await open();
    t.db.prepare('DELETE FROM audit_records WHERE seq = 10').run();
    const w = await only(t);
    assert.deepEqual([w.problem?.kind, w.problem?.seq], ['deleted', 10]);
  });

  it('reports a writer whose whole chain and stored checkpoints were deleted, from the external checkpoints', async () => {
    const t = await open();
    t.db.prepare('DELETE FROM audit_records').run();
    t.db.prepare('DELETE FROM audit_records_checkpoints').run();
    const w = await only(t);
    assert.deepEqual([w.writer, w.problem?.kind, w.problem?.seq], ['host/1/0/aaaa', 'deleted', 1]);
    assert.match(w.problem?.detail ?? '', /seq 1\.\.10 deleted/);
    // Deleted from both places, nothing is left to tell (docs/audit.md says so).
    assert.deepEqual((await verifyTrail(t.store, { publicKey, externalCheckpoints: [] })).writers, []);
  });

  it('reports a gap in the middle as deleted', async () => {
    const t = await open();
    t.db.prepare('DELETE FROM audit_records WHERE seq IN (4, 5)').run();
    const w = await only(t);
    assert.deepEqual([w.problem?.kind, w.problem?.seq], ['deleted', 4]);
  });

  it('catches a recomputed chain whose stored checkpoints were rewritten too, by the external checkpoints', async () => {
    const t = await open();
    t.db.prepare('UPDATE audit_records SET json = replace(json, ?, ?) WHERE seq = 5').run('user-2', 'user-9');
    recompute(t.db, 5);
    // The attacker drops the stored checkpoints that would disagree; without a key, none can be re-signed.
    t.db.prepare('DELETE FROM audit_records_checkpoints WHERE seq >= 5').run();
    const w = await only(t);
    assert.deepEqual([w.problem?.kind, w.problem?.seq], ['checkpoint_mismatch', 6]);
    assert.match(w.problem?.detail ?? '', /checkpoint file.*rewritten between seq 4 and 6/);
    // Against the rewritten database alone, the chain looks intact up to the one checkpoint left.
    const alone = await only(t, []);
    assert.equal(alone.problem, undefined);
    assert.deepEqual(alone.unsignedTail, { from: 4, to: 10 });
  });

  it('reports an inserted record (the rest renumbered to make room)', async () => {
    const t = await open();
    const rows = t.db.prepare('SELECT * FROM audit_records WHERE seq > 3 ORDER BY seq DESC').all() as Record<string, string | number>[];
    for (const r of rows) t.db.prepare('UPDATE audit_records SET seq = seq + 1 WHERE seq = ?').run(r.seq as number);
    const json = JSON.stringify(event(99));
    const prev = (t.records[2] as ChainedRecord).hash;
    t.db
      .prepare('INSERT INTO audit_records (writer, seq, hash, prev_hash, time_ms, type, request_id, json) VALUES (?, 4, ?, ?, 0, ?, ?, ?)')
      .run('host/1/0/aaaa', recordHash(prev, json), prev, 'request', 'req-99', json);
    const w = await only(t);
    assert.deepEqual([w.problem?.kind, w.problem?.seq], ['inserted', 4]);
  });

  it('reports records after the last checkpoint as an unsigned tail, not as verified', async () => {
    const t = await open({ unsigned: 2, shutdown: false });
    const w = await only(t);
    assert.equal(w.problem, undefined);
    assert.equal(w.verifiedThrough?.seq, 10);
    assert.deepEqual(w.unsignedTail, { from: 11, to: 12 });
    assert.match(describeWriter(w).join('\n'), /unsigned tail seq 11\.\.12/);
  });

  it('reports a forged checkpoint (another key under a known kid) as bad_signature', async () => {
    const t = await open();
    const forger = keyPair('k2');
    const last = t.records.at(-1) as ChainedRecord;
    const forged = await signCheckpoint({ writer: last.writer, seq: 12, hash: last.hash, time: new Date(T0).toISOString(), reason: 'batch' }, forger);
    const w = await only(t, [...t.external, forged]);
    assert.deepEqual([w.problem?.kind, w.problem?.seq], ['bad_signature', 12]);
    const unknown = await signCheckpoint({ writer: last.writer, seq: 3, hash: last.hash, time: new Date(T0).toISOString(), reason: 'batch' }, keyPair('k-unknown'));
    const w2 = await only(t, [...t.external, unknown]);
    assert.deepEqual([w2.problem?.kind, w2.problem?.seq], ['bad_signature', 3]);
    assert.match(w2.problem?.detail ?? '', /unknown key \(kid k-unknown\)/);
  });

  it('accepts a chain that starts after a retention checkpoint, and nothing else', async () => {
    const t = await open();
    const cut = t.records[3] as ChainedRecord;
    const anchor = await signCheckpoint({ writer: cut.writer, seq: 4, hash: cut.hash, time: new Date(T0).toISOString(), reason: 'prune' }, k2);
    t.db.prepare('DELETE FROM audit_records WHERE seq <= 4').run();
    const unanchored = await only(t);
    assert.deepEqual([unanchored.problem?.kind, unanchored.problem?.seq], ['deleted', 1]);
    await t.store.writeCheckpoint(anchor);
    const w = await only(t);
    assert.equal(w.problem, undefined);
    assert.equal(w.prunedThrough, 4);
    assert.equal(w.verifiedThrough?.seq, 10);
  });
});
