// Tamper evidence end to end: a real gateway with the SQLite sink and a checkpoint file serves some
// requests (its signing key rotated between two batches) and closes; `cortex audit verify` passes,
// then catches an edited row, a deleted newest row, a chain recomputed with the database's own
// checkpoints rewritten, an inserted row and a forged checkpoint; records nothing signed yet are
// printed as an unsigned tail without failing.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { recordHash } from '../../../src/audit/chain.ts';
import { checkpointLine, parseCheckpointLines, signCheckpoint } from '../../../src/audit/checkpoints.ts';
import { recordColumns } from '../../../src/audit/columns.ts';
import type { AuditEvent } from '../../../src/audit/event.ts';
import { INSERT_COLUMNS } from '../../../src/audit/sinks/store-sql.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import { tempDir } from './trail-gateway.ts';
import { startVerifyGateway, verify } from './verify-kit.ts';

/** A record as a careful forger writes it: hash, links and query columns all consistent. */
function insertRecord(db: DatabaseSync, writer: string, seq: number, prevHash: string, id: string): void {
  const event = { v: 1, type: 'request', id, time: new Date().toISOString() } as unknown as AuditEvent;
  const json = JSON.stringify(event);
  const c = recordColumns({ writer, seq, prevHash, hash: recordHash(prevHash, json), json, event }) as unknown as Record<string, unknown>;
  const values = INSERT_COLUMNS.map((col) => c[col.replace(/_(\w)/g, (_m, x: string) => x.toUpperCase())]) as (string | number | null)[];
  db.prepare(`INSERT INTO audit_records (${INSERT_COLUMNS.join(', ')}) VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')})`).run(...values);
}

async function requests(url: string, paths: string[]): Promise<void> {
  for (const p of paths) assert.equal((await fetch(`${url}${p}`)).status, 200);
}

void test('cortex audit verify: a real trail passes, and every kind of change to it is caught', async (t) => {
  const dir = tempDir(t);
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startVerifyGateway(dir, upstream.url, '{ type: sqlite, path: $DB }');
  await requests(gw.url, ['/api/a', '/api/b', '/api/c']);
  await gw.runtime.gateway.flushAudit();
  // The key that signed the first checkpoints retires; they must still verify.
  await gw.runtime.gateway.credentials.ring?.rotateNow();
  await requests(gw.url, ['/api/d', '/api/e']);
  await gw.runtime.close(1_000);

  const cps = parseCheckpointLines(readFileSync(gw.checkpoints, 'utf8'));
  assert.ok(new Set(cps.map((c) => c.kid)).size >= 2, 'checkpoints signed by the old and the new key');
  assert.equal(cps.at(-1)?.reason, 'shutdown');
  const last = cps.at(-1)?.seq as number;
  assert.ok(last >= 5);

  const ok = await verify(['--config', gw.configFile]);
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.match(ok.out, new RegExp(`^writer \\S+: ok through seq ${last} \\(checkpoint at \\d{4}-`));
  const json = JSON.parse((await verify(['--config', gw.configFile, '--json'])).out) as { ok: boolean; writers: { verifiedThrough: { seq: number } }[] };
  assert.equal(json.ok, true);
  assert.equal(json.writers[0]?.verifiedThrough.seq, last);

  // The same checkpoints are stored beside the events, the shutdown one included (signed before the store closed).
  const stored = new DatabaseSync(gw.db, { readOnly: true });
  const storedCps = stored.prepare('SELECT seq, reason, jws FROM audit_records_checkpoints ORDER BY seq, reason').all() as { seq: number; reason: string; jws: string }[];
  stored.close();
  assert.deepEqual(new Set(storedCps.map((c) => c.jws)), new Set(cps.map((c) => c.jws)));

  const pristine = join(dir, 'pristine.db');
  copyFileSync(gw.db, pristine);
  const tamper = async (sql: (db: DatabaseSync) => void): Promise<{ code: number; out: string; err: string }> => {
    copyFileSync(pristine, gw.db);
    const db = new DatabaseSync(gw.db);
    sql(db);
    db.close();
    return verify(['--config', gw.configFile]);
  };

  const edited = await tamper((db) => db.prepare("UPDATE audit_records SET json = replace(json, '/api/b', '/api/z') WHERE seq = 2").run());
  assert.equal(edited.code, 1);
  assert.match(edited.out, /seq 2 edited \(hash mismatch/);

  // A query column changed, the hashed event left alone: queries would find the wrong thing.
  const column = await tamper((db) => db.prepare('UPDATE audit_records SET status = 500 WHERE seq = 3').run());
  assert.equal(column.code, 1);
  assert.match(column.out, /seq 3 edited \(column status differs from the hashed event/);

  const deleted = await tamper((db) => db.prepare('DELETE FROM audit_records WHERE seq = (SELECT MAX(seq) FROM audit_records)').run());
  assert.equal(deleted.code, 1);
  assert.match(deleted.out, new RegExp(`seq ${last} deleted`));

  const recompute = (db: DatabaseSync): void => {
    // A careful rewrite: the event, its query column, and every hash after it.
    db.prepare("UPDATE audit_records SET json = replace(json, '/api/b', '/api/z'), path = replace(path, '/api/b', '/api/z') WHERE seq = 2").run();
    let prev = (db.prepare('SELECT prev_hash FROM audit_records WHERE seq = 2').get() as { prev_hash: string }).prev_hash;
    for (const r of db.prepare('SELECT seq, json FROM audit_records WHERE seq >= 2 ORDER BY seq').all() as { seq: number; json: string }[]) {
      const hash = recordHash(prev, r.json);
      db.prepare('UPDATE audit_records SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, r.seq);
      prev = hash;
    }
    // Its own checkpoints would disagree, and cannot be re-signed without the key: gone.
    db.prepare('DELETE FROM audit_records_checkpoints').run();
  };
  const recomputed = await tamper(recompute);
  assert.equal(recomputed.code, 1);
  assert.match(recomputed.out, /seq \d+ checkpoint mismatch \(a checkpoint in the checkpoint file, signed at .*, names another hash: the chain was rewritten (at seq \d+|between seq \d+ and \d+)\)/);
  // The database alone cannot tell: the recomputed chain is intact, and unsigned.
  writeFileSync(join(dir, 'empty.jsonl'), '');
  const alone = await verify(['--config', gw.configFile, '--checkpoints', join(dir, 'empty.jsonl')]);
  assert.equal(alone.code, 0);
  assert.match(alone.out, new RegExp(`unsigned tail seq 1\\.\\.${last}`));

  const inserted = await tamper((db) => {
    for (let s = last; s >= 3; s--) db.prepare('UPDATE audit_records SET seq = seq + 1 WHERE seq = ?').run(s);
    const r2 = db.prepare('SELECT writer, hash FROM audit_records WHERE seq = 2').get() as { writer: string; hash: string };
    insertRecord(db, r2.writer, 3, r2.hash, 'fake');
  });
  assert.equal(inserted.code, 1);
  assert.match(inserted.out, /seq 3 inserted/);

  // A checkpoint under a real kid, signed by another key, in the second place.
  copyFileSync(pristine, gw.db);
  const real = cps.at(-1) as (typeof cps)[number];
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const forged = await signCheckpoint({ writer: real.writer, seq: last + 5, hash: real.hash, time: new Date().toISOString(), reason: 'batch' }, { kid: real.kid, alg: 'ES256', privateKey });
  const forgedFile = join(dir, 'forged.jsonl');
  writeFileSync(forgedFile, readFileSync(gw.checkpoints, 'utf8') + checkpointLine(forged));
  const bad = await verify(['--config', gw.configFile, '--checkpoints', forgedFile]);
  assert.equal(bad.code, 1);
  assert.match(bad.out, new RegExp(`seq ${last + 5} bad signature \\(checkpoint at seq ${last + 5} in the checkpoint file: signature invalid`));

  // Records committed after the last checkpoint (the writer died before signing them).
  const db = new DatabaseSync(gw.db);
  const head = db.prepare('SELECT * FROM audit_records WHERE seq = ?').get(last) as Record<string, string | number>;
  for (const seq of [last + 1, last + 2]) {
    const prev = (db.prepare('SELECT hash FROM audit_records WHERE seq = ?').get(seq - 1) as { hash: string }).hash;
    insertRecord(db, head.writer as string, seq, prev, `late-${seq}`);
  }
  db.close();
  const tail = await verify(['--config', gw.configFile]);
  assert.equal(tail.code, 0, tail.out + tail.err);
  assert.match(tail.out, new RegExp(`ok through seq ${last} .*\\n.*unsigned tail seq ${last + 1}\\.\\.${last + 2} \\(not verified`));
});
