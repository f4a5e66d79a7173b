// One contract for both stores of users' grants to agents: SQLite (a file in a temp dir) and
// PostgreSQL (a table of its own in the test database, dropped afterwards).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { openAgentGrantStore } from '../../../src/credentials/grants/open-grant-store.ts';
import type { AgentGrantStore } from '../../../src/credentials/types.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';

const log = createLogger({ level: 'silent' });
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const IDP = 'http://idp.test';
const OTHER_IDP = 'https://login.other.test';
const T0 = Date.UTC(2026, 0, 1);

interface Opened {
  open: () => AgentGrantStore;
  done: () => Promise<void>;
}

function contract(name: string, setup: () => Promise<Opened>): void {
  describe(`agent grant store contract: ${name}`, () => {
    let store: AgentGrantStore;
    let opened: Opened;
    before(async () => {
      opened = await setup();
      store = opened.open();
      await store.ready();
    });
    after(async () => {
      await store.close();
      await opened.done();
    });

    test('a grant is recorded as given, and has() answers for that person and agent only', async () => {
      const g = await store.grant({ issuer: IDP, subject: 'bob', agent: 'assistant', createdBy: 'self', createdAt: T0 });
      assert.deepEqual(g, { issuer: IDP, subject: 'bob', agent: 'assistant', createdAt: T0, createdBy: 'self' });
      assert.equal(await store.has({ issuer: IDP, subject: 'bob' }, 'assistant', T0 + 1), true);
      assert.equal(await store.has({ issuer: IDP, subject: 'bob' }, 'planner', T0 + 1), false);
      assert.equal(await store.has({ issuer: IDP, subject: 'alice' }, 'assistant', T0 + 1), false);
    });

    test('an expiring grant holds until its expiry and not from then on', async () => {
      await store.grant({ issuer: IDP, subject: 'carol', agent: 'assistant', createdBy: 'admin', createdAt: T0, expiresAt: T0 + 60_000 });
      assert.equal(await store.has({ issuer: IDP, subject: 'carol' }, 'assistant', T0 + 59_999), true);
      assert.equal(await store.has({ issuer: IDP, subject: 'carol' }, 'assistant', T0 + 60_000), false);
      assert.equal(await store.has({ issuer: IDP, subject: 'carol' }, 'assistant', T0 + 3_600_000), false);
    });

    test('granting again keeps one grant: first given time kept, expiry and author replaced', async () => {
      await store.grant({ issuer: IDP, subject: 'dave', agent: 'assistant', createdBy: 'self', createdAt: T0, expiresAt: T0 + 1_000 });
      const again = await store.grant({ issuer: IDP, subject: 'dave', agent: 'assistant', createdBy: 'ops', createdAt: T0 + 5_000 });
      assert.deepEqual(again, { issuer: IDP, subject: 'dave', agent: 'assistant', createdAt: T0, createdBy: 'ops' });
      assert.equal(await store.has({ issuer: IDP, subject: 'dave' }, 'assistant', T0 + 10_000), true, 'the new grant has no expiry');
      assert.equal((await store.list({ issuer: IDP, subject: 'dave' })).length, 1);
    });

    test('revoke removes the grant once; revoking what is not there says so', async () => {
      await store.grant({ issuer: IDP, subject: 'erin', agent: 'assistant', createdBy: 'self' });
      assert.equal(await store.revoke({ issuer: IDP, subject: 'erin' }, 'assistant'), true);
      assert.equal(await store.has({ issuer: IDP, subject: 'erin' }, 'assistant', Date.now()), false);
      assert.equal(await store.revoke({ issuer: IDP, subject: 'erin' }, 'assistant'), false);
      assert.equal(await store.revoke({ issuer: IDP, subject: 'nobody' }, 'assistant'), false);
    });

    test('list by person, by agent, by subject alone, and everything', async () => {
      await store.grant({ issuer: IDP, subject: 'frank', agent: 'assistant', createdBy: 'self', createdAt: T0 + 1 });
      await store.grant({ issuer: IDP, subject: 'frank', agent: 'planner', createdBy: 'self', createdAt: T0 + 2 });
      await store.grant({ issuer: IDP, subject: 'grace', agent: 'planner', createdBy: 'admin', createdAt: T0 + 3 });
      const agents = (await store.list({ issuer: IDP, subject: 'frank' })).map((g) => g.agent);
      assert.deepEqual(agents, ['assistant', 'planner']);
      const planners = (await store.list({ agent: 'planner' })).map((g) => g.subject);
      assert.deepEqual(planners, ['frank', 'grace']);
      assert.deepEqual((await store.list({ subject: 'grace' })).map((g) => g.agent), ['planner']);
      const all = await store.list({});
      for (const s of ['bob', 'frank', 'grace']) assert.ok(all.some((g) => g.subject === s), `${s} is listed`);
    });

    test('the same subject at two issuers is two people', async () => {
      await store.grant({ issuer: IDP, subject: 'sam', agent: 'assistant', createdBy: 'self' });
      assert.equal(await store.has({ issuer: OTHER_IDP, subject: 'sam' }, 'assistant', Date.now()), false);
      await store.grant({ issuer: OTHER_IDP, subject: 'sam', agent: 'assistant', createdBy: 'self' });
      assert.equal(await store.revoke({ issuer: IDP, subject: 'sam' }, 'assistant'), true);
      assert.equal(await store.has({ issuer: IDP, subject: 'sam' }, 'assistant', Date.now()), false);
      assert.equal(await store.has({ issuer: OTHER_IDP, subject: 'sam' }, 'assistant', Date.now()), true);
      assert.deepEqual((await store.list({ subject: 'sam' })).map((g) => g.issuer), [OTHER_IDP]);
    });

    test('grants outlive the store: a store opened again finds them', async () => {
      await store.grant({ issuer: IDP, subject: 'heidi', agent: 'assistant', createdBy: 'self' });
      const again = opened.open();
      try {
        assert.equal(await again.has({ issuer: IDP, subject: 'heidi' }, 'assistant', Date.now()), true);
      } finally {
        await again.close();
      }
    });
  });
}

contract('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-grants-'));
  const path = join(dir, 'nested', 'agent-grants.db');
  return Promise.resolve({
    open: () => openAgentGrantStore({ type: 'sqlite', path }, { log }),
    done: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  });
});

contract('postgres', () => {
  const table = `cortex_test_grants_${randomBytes(5).toString('hex')}`;
  return Promise.resolve({
    open: () => openAgentGrantStore({ type: 'postgres', url: PG_URL, table }, { log }),
    async done() {
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      try {
        await admin.query(`DROP TABLE IF EXISTS ${table}`);
      } finally {
        await admin.end();
      }
    },
  });
});

test('a postgres table name that is not a plain identifier is refused', () => {
  assert.throws(() => openAgentGrantStore({ type: 'postgres', url: PG_URL, table: 'x; DROP TABLE y' }, { log }), /bad table name/);
});
