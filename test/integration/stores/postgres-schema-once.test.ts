// schemaOnce (src/stores/postgres/schema-once.ts) against a real PostgreSQL database of its own:
// the table is created by one query however many callers wait for it, and a failed attempt is
// tried again by the next caller.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { schemaOnce } from '../../../src/stores/postgres/schema-once.ts';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
const database = `cortex_schema_once_${randomBytes(6).toString('hex')}`;

async function asAdmin(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

describe('schemaOnce', () => {
  let pool: pg.Pool;

  before(async () => {
    await asAdmin(`CREATE DATABASE ${database}`);
    pool = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:5432/${database}`, max: 4 });
  });

  after(async () => {
    await pool.end();
    await asAdmin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  /** A create step that counts its runs. */
  function counted(sql: string): { run: () => Promise<unknown>; runs: () => number } {
    let runs = 0;
    return {
      run: () => {
        runs++;
        return pool.query(sql);
      },
      runs: () => runs,
    };
  }

  async function tableExists(name: string): Promise<boolean> {
    const r = await pool.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name]);
    return r.rows[0]?.t === name;
  }

  test('callers waiting at once share one CREATE, and a success is kept without another query', async () => {
    const create = counted('CREATE TABLE IF NOT EXISTS shared_table (id INT PRIMARY KEY)');
    const ensureSchema = schemaOnce(create.run);
    await Promise.all([ensureSchema(), ensureSchema(), ensureSchema()]);
    assert.equal(create.runs(), 1);
    assert.equal(await tableExists('shared_table'), true);
    await ensureSchema();
    assert.equal(create.runs(), 1);
  });

  test('a failed CREATE is forgotten: the next call tries again, and succeeds once the database allows it', async () => {
    // The schema `later` does not exist yet, so the CREATE fails until the test makes it.
    const create = counted('CREATE TABLE IF NOT EXISTS later.retried_table (id INT PRIMARY KEY)');
    const ensureSchema = schemaOnce(create.run);

    const waiting = await Promise.allSettled([ensureSchema(), ensureSchema()]);
    assert.equal(create.runs(), 1);
    for (const outcome of waiting) {
      assert.equal(outcome.status, 'rejected');
      assert.equal((outcome.reason as { code?: string }).code, '3F000'); // invalid_schema_name
    }

    await assert.rejects(ensureSchema(), { code: '3F000' });
    assert.equal(create.runs(), 2);

    await pool.query('CREATE SCHEMA later');
    await ensureSchema();
    assert.equal(create.runs(), 3);
    assert.equal(await tableExists('later.retried_table'), true);

    await ensureSchema();
    assert.equal(create.runs(), 3);
  });
});
