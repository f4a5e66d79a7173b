// The SQLite store's WAL is checkpointed by a worker thread while the gateway writes (the writer's
// own automatic checkpoint is off), and closing the store stops the worker and keeps every row.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { createChain } from '../../../src/audit/chain.ts';
import { openSqliteAuditStore } from '../../../src/audit/sinks/sqlite-store.ts';
import { generatedRecords } from '../../integration/audit/query-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'cortex-wal-checkpointer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('SQLite audit store WAL checkpoints', () => {
  it('copies committed pages into the database file from a worker while the store stays open', async () => {
    const path = join(dir, 'audit.db');
    const store = openSqliteAuditStore(path);
    const empty = statSync(path).size;
    const chain = createChain('test-host/1/0/00000000');
    const records = [...generatedRecords(3000, Date.now(), 3_600_000)].map((r) => chain.next(r.event));
    for (let i = 0; i < records.length; i += 1000) await store.writeBatch(records.slice(i, i + 1000));
    // The writer never checkpoints 3,000 rows itself (automatic checkpoint off, or 20,000 pages).
    let grown = statSync(path).size;
    for (let i = 0; i < 100 && grown <= empty; i++) {
      await sleep(50);
      grown = statSync(path).size;
    }
    assert.ok(grown > empty, `database file still ${grown} bytes: no checkpoint ran`);
    await store.close();
    const db = new DatabaseSync(path, { readOnly: true });
    const row = db.prepare('SELECT COUNT(*) AS n, MAX(seq) AS last FROM audit_records').get() as { n: number; last: number };
    db.close();
    assert.deepEqual({ n: Number(row.n), last: Number(row.last) }, { n: 3000, last: 3000 });
  });

  it('closes at once after opening (the worker stopped before it checkpointed anything)', async () => {
    const path = join(dir, 'quick.db');
    const store = openSqliteAuditStore(path);
    await store.close();
    const db = new DatabaseSync(path, { readOnly: true });
    assert.equal(Number((db.prepare('SELECT COUNT(*) AS n FROM audit_records').get() as { n: number }).n), 0);
    db.close();
  });
});
