// Signed checkpoints: the JWS round trip, what makes one invalid, the second place's lines (file
// mode, parsing beside log lines), and the Checkpointer's coalescing and shutdown checkpoint.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { createChain } from '../../../src/audit/chain.ts';
import { Checkpointer, checkpointFile, checkpointLine, parseCheckpointLines, signCheckpoint, verifyCheckpoint } from '../../../src/audit/checkpoints.ts';
import type { AuditEvent } from '../../../src/audit/event.ts';
import type { Checkpoint } from '../../../src/audit/record.ts';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = { kid: 'k1', alg: 'ES256', privateKey };
const lookup = (kid: string) => (kid === 'k1' ? publicKey : undefined);
const fields = { writer: 'h/1/2/ab', seq: 7, hash: 'a'.repeat(64), time: '2026-01-01T00:00:00.000Z', reason: 'batch' } as const;
const dir = mkdtempSync(join(tmpdir(), 'cortex-cp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('signCheckpoint / verifyCheckpoint', () => {
  it('signs the fields as a compact JWS with the checkpoint typ, and verifies them back', async () => {
    const cp = await signCheckpoint(fields, signer);
    assert.deepEqual(decodeProtectedHeader(cp.jws), { alg: 'ES256', kid: 'k1', typ: 'cortex-audit-checkpoint+jwt' });
    assert.deepEqual(await verifyCheckpoint(cp, lookup), { ok: true, fields });
  });

  it('refuses an unknown kid, another key, and stored fields that differ from the signed ones', async () => {
    const cp = await signCheckpoint(fields, signer);
    assert.match(JSON.stringify(await verifyCheckpoint(cp, () => undefined)), /unknown key \(kid k1\)/);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    assert.match(JSON.stringify(await verifyCheckpoint(cp, () => other)), /signature invalid/);
    assert.match(JSON.stringify(await verifyCheckpoint({ ...cp, seq: 8 }, lookup)), /stored seq differs/);
    assert.match(JSON.stringify(await verifyCheckpoint({ ...cp, jws: 'x.y.z' }, lookup)), /not a compact JWS/);
  });
});

describe('the second place', () => {
  it('writes one line per checkpoint to a 0600 file, and reads them back from between log lines', async () => {
    const file = join(dir, 'cp.jsonl');
    const out = checkpointFile(file);
    const a = await signCheckpoint(fields, signer);
    const b = await signCheckpoint({ ...fields, seq: 9 }, signer);
    await Promise.all([out.append(checkpointLine(a, 'sqlite:a.db')), out.append(checkpointLine(b, 'postgres:x'))]);
    await out.close();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = `{"level":30,"msg":"hello"}\n${readFileSync(file, 'utf8')}not json\n`;
    assert.deepEqual(parseCheckpointLines(text), [a, b]);
    assert.deepEqual(parseCheckpointLines(text, 'sqlite:a.db'), [a]);
  });
});

describe('Checkpointer', () => {
  const chain = createChain('h/1/2/cd');
  const records = Array.from({ length: 6 }, (_, i) => chain.next({ v: 1, type: 'request', id: `r${i}` } as unknown as AuditEvent));

  it('signs at most one head per batch, coalesces batches committed while signing, skips nothing-new, and signs at shutdown', async () => {
    const stored: Checkpoint[] = [];
    const lines: string[] = [];
    const cps = new Checkpointer({
      signer: () => signer,
      store: (name) => (name === 'db' ? { writeCheckpoint: (cp) => Promise.resolve(void stored.push(cp)) } : undefined),
      output: { append: (line) => Promise.resolve(void lines.push(line)), close: () => Promise.resolve() },
    });
    cps.onBatchCommitted('db', records.slice(0, 2));
    // Committed while the first is being signed: one more checkpoint covers both.
    cps.onBatchCommitted('db', records.slice(2, 4));
    cps.onBatchCommitted('db', records[4] as (typeof records)[number]);
    await cps.flush();
    assert.deepEqual(stored.map((c) => [c.seq, c.reason]), [[2, 'batch'], [5, 'batch']]);
    cps.onBatchCommitted('db', records.slice(3, 5));
    await cps.flush();
    assert.equal(stored.length, 2, 'nothing new: no checkpoint');
    await cps.closeSink('db');
    cps.onBatchCommitted('db', records.slice(5));
    await cps.close();
    assert.deepEqual(stored.map((c) => [c.seq, c.reason]), [[2, 'batch'], [5, 'batch'], [5, 'shutdown']]);
    assert.deepEqual(parseCheckpointLines(lines.join('')), stored);
    assert.equal((stored[1] as Checkpoint).hash, (records[4] as (typeof records)[number]).hash);
  });
});
