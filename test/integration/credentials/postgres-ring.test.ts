// The key ring shared by a fleet (PostgreSQL): instances that rotate at once end with one new key,
// a rotation on one reaches the others through NOTIFY, and an instance opened later signs with the
// same key. Each test has its own table in the test database, dropped afterwards.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import pg from 'pg';
import type { SigningKeysConfig } from '../../../src/config/schema-credentials.ts';
import { openKeyRing } from '../../../src/credentials/key-ring.ts';
import type { TickingKeyRing } from '../../../src/credentials/key-ring.ts';
import { kekFromText } from '../../../src/credentials/key-seal.ts';
import { openPostgresKeyStore } from '../../../src/credentials/stores/postgres-store.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { eventually } from '../../helpers/gateway-checks.ts';

const URL = 'postgres://postgres@127.0.0.1:5432/test';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 1);
const KEK = randomBytes(32).toString('base64url');
const log = createLogger({ level: 'silent' });

describe('signing key ring on PostgreSQL', () => {
  let admin: pg.Client;
  let table: string;
  let cfg: SigningKeysConfig;
  let rings: TickingKeyRing[];
  const clock = { t: T0 };

  async function open(): Promise<{ ring: TickingKeyRing; rotations: string[]; created: string[] }> {
    const rotations: string[] = [];
    const created: string[] = [];
    const ring = await openKeyRing(cfg, {
      store: openPostgresKeyStore(URL, table, { log, listen: true }),
      kek: await kekFromText(KEK),
      now: () => clock.t,
      maxTokenLifetimeMs: 300_000,
      log,
      onEvent: (e) => {
        if (e.type === 'created') created.push(e.kid);
      },
    });
    ring.onRotate((s) => rotations.push(s.kid));
    rings.push(ring);
    return { ring, rotations, created };
  }

  async function rows(): Promise<{ kid: string; activates_at: string; retires_at: string | null }[]> {
    return (await admin.query<{ kid: string; activates_at: string; retires_at: string | null }>(`SELECT kid, activates_at, retires_at FROM ${table} ORDER BY created_at, kid`)).rows;
  }

  /** Both LISTEN connections are up, so what follows is delivered by NOTIFY. */
  async function listening(count: number): Promise<void> {
    await eventually(async () => {
      const r = await admin.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'cortex-signing-keys' AND query = 'LISTEN cortex_signing_keys'");
      return Number(r.rows[0]?.n) >= count ? true : undefined;
    }, `${count} LISTEN connections`);
  }

  before(async () => {
    admin = new pg.Client({ connectionString: URL });
    await admin.connect();
  });
  after(async () => {
    await admin.end();
  });
  beforeEach(() => {
    table = `cortex_keys_test_${randomBytes(5).toString('hex')}`;
    cfg = { algorithm: 'ES256', store: { type: 'postgres', url: URL, table }, encryptionKey: KEK, rotateEveryMs: DAY, publishAheadMs: HOUR, retainPublicMs: 2 * DAY };
    rings = [];
    clock.t = T0;
  });
  afterEach(async () => {
    await Promise.all(rings.map((r) => r.close()));
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
  });

  test('two instances opening an empty ring at once create one first key', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    assert.equal((await rows()).length, 1);
    assert.equal(a.ring.signer().kid, b.ring.signer().kid);
    assert.equal(a.created.length + b.created.length, 1);
  });

  test('two instances rotating at once end with one new key; a third opened later signs with it', async () => {
    const a = await open();
    const b = await open();
    const k1 = a.ring.signer().kid;
    assert.deepEqual([...a.created, ...b.created], [k1]);
    clock.t = T0 + DAY - HOUR;
    await Promise.all([a.ring.tick(), b.ring.tick(), a.ring.tick(), b.ring.tick()]);
    const after = await rows();
    assert.equal(after.length, 2, 'one next key, not two');
    assert.equal(a.created.length + b.created.length, 2, 'one of them created it');
    const k2 = after[1]?.kid as string;
    assert.deepEqual(
      a.ring.jwks().keys.map((k) => k.kid),
      [k1, k2],
    );
    assert.deepEqual(b.ring.list(), a.ring.list());

    clock.t = T0 + DAY;
    assert.equal(a.ring.signer().kid, k2);
    assert.equal(b.ring.signer().kid, k2);
    const c = await open();
    assert.equal(c.ring.signer().kid, k2);
    assert.deepEqual(c.created, [], 'the third instance created nothing');
    assert.deepEqual(
      c.ring.jwks().keys.map((k) => k.kid),
      [k1, k2],
    );
  });

  test('a rotation on one instance reaches the other through NOTIFY: its onRotate fires', async () => {
    const a = await open();
    const b = await open();
    await listening(2);
    await a.ring.rotateNow();
    const k2 = a.ring.signer().kid;
    const heard = await eventually(() => b.rotations.at(-1), "the other instance's onRotate");
    assert.equal(heard, k2);
    assert.equal(b.ring.signer().kid, k2);
    assert.equal((await rows()).length, 2);
  });
});
