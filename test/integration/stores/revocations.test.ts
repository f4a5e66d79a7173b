// One contract for both stores of revoked delegated tokens (memory, and Redis under a key prefix of
// this run's own, removed afterwards), then what only Redis gives: other instances hear a revocation
// at once, and a store opened again (a restart) still knows every revocation.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { DelegatedTokenRef, Revocation, RevocationStore } from '../../../src/credentials/types.ts';
import { openRevocationStore } from '../../../src/stores/revocations/open-revocation-store.ts';
import type { RevocationsConfig } from '../../../src/stores/revocations/open-revocation-store.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { eventually } from '../../helpers/gateway-checks.ts';

const log = createLogger({ level: 'silent' });
const REDIS_URL = 'redis://127.0.0.1:6379';
const keyPrefix = `cortex-test:revoked:${randomBytes(6).toString('hex')}:`;
const IDP = 'http://idp.test';
const admin = new Redis(REDIS_URL);

after(async () => {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

/** A clock that starts at the real time (Redis expires jti keys on its own clock) and moves when told. */
function testClock(): { now: () => number; advance: (ms: number) => void; seconds: () => number } {
  let t = Date.now();
  return { now: () => t, advance: (ms) => (t += ms), seconds: () => Math.floor(t / 1000) };
}

let serial = 0;
function token(overrides: Partial<DelegatedTokenRef> & { iat: number }): DelegatedTokenRef {
  return { jti: `jti-${++serial}`, agent: 'assistant', issuer: IDP, subject: 'bob', ...overrides };
}

function contract(name: string, cfg: RevocationsConfig): void {
  describe(`revocation store contract: ${name}`, () => {
    const clock = testClock();
    let store: RevocationStore;
    const heard: Revocation[] = [];
    before(async () => {
      store = openRevocationStore(cfg, { log, now: clock.now });
      await store.ready();
      store.onRevoke((r) => heard.push(r));
    });
    after(() => store.close());

    test('a jti is revoked until its token expires, and no other jti is', async () => {
      const t = token({ iat: clock.seconds() });
      const other = token({ iat: clock.seconds() });
      assert.equal(store.isRevoked(t), false);
      await store.revoke({ kind: 'jti', jti: t.jti, exp: clock.seconds() + 300 });
      assert.equal(store.isRevoked(t), true);
      assert.equal(store.isRevoked(other), false);
      clock.advance(301_000);
      assert.equal(store.isRevoked(t), false, 'forgotten once the token has expired');
    });

    test('an agent: its tokens issued before `at` are revoked, later ones and other agents\' are not', async () => {
      const at = clock.seconds();
      await store.revoke({ kind: 'agent', agent: 'planner', at });
      assert.equal(store.isRevoked(token({ agent: 'planner', iat: at - 1 })), true);
      assert.equal(store.isRevoked(token({ agent: 'planner', iat: at })), false);
      assert.equal(store.isRevoked(token({ agent: 'assistant', iat: at - 1 })), false);
      await store.revoke({ kind: 'agent', agent: 'planner', at: at - 100 });
      assert.equal(store.isRevoked(token({ agent: 'planner', iat: at - 1 })), true, 'an earlier `at` never narrows a revocation');
    });

    test('a person: every agent\'s tokens for them issued before `at`; the same subject elsewhere untouched', async () => {
      const at = clock.seconds();
      await store.revoke({ kind: 'person', issuer: IDP, subject: 'alice', at });
      assert.equal(store.isRevoked(token({ subject: 'alice', agent: 'assistant', iat: at - 5 })), true);
      assert.equal(store.isRevoked(token({ subject: 'alice', agent: 'planner', iat: at - 5 })), true);
      assert.equal(store.isRevoked(token({ subject: 'alice', iat: at + 1 })), false);
      assert.equal(store.isRevoked(token({ subject: 'alice', issuer: 'https://other.test', iat: at - 5 })), false);
      assert.equal(store.isRevoked(token({ subject: 'bob', iat: at - 5 })), false);
    });

    test("a grant: one agent's tokens for one person issued before `at`; the person's other agents untouched", async () => {
      const at = clock.seconds();
      await store.revoke({ kind: 'grant', issuer: IDP, subject: 'gina', agent: 'assistant', at });
      assert.equal(store.isRevoked(token({ subject: 'gina', agent: 'assistant', iat: at - 1 })), true);
      assert.equal(store.isRevoked(token({ subject: 'gina', agent: 'cartographer', iat: at - 1 })), false);
      assert.equal(store.isRevoked(token({ subject: 'gina', agent: 'assistant', iat: at })), false);
      assert.equal(store.isRevoked(token({ subject: 'hank', agent: 'assistant', iat: at - 1 })), false);
    });

    test('onRevoke hears each new revocation once, after isRevoked reflects it; unsubscribing stops it', async () => {
      const t = token({ iat: clock.seconds() });
      const seen: boolean[] = [];
      const off = store.onRevoke(() => seen.push(store.isRevoked(t)));
      const r: Revocation = { kind: 'jti', jti: t.jti, exp: clock.seconds() + 60 };
      await store.revoke(r);
      await store.revoke(r);
      assert.deepEqual(seen, [true]);
      assert.deepEqual(heard.at(-1), r);
      off();
      await store.revoke({ kind: 'agent', agent: 'other', at: clock.seconds() });
      assert.equal(seen.length, 1);
    });
  });
}

contract('memory', { type: 'memory' });
contract('redis', { type: 'redis', url: REDIS_URL, keyPrefix });

describe('revocations in Redis, across instances', () => {
  const cfg: RevocationsConfig = { type: 'redis', url: REDIS_URL, keyPrefix: `${keyPrefix}fleet:` };
  const open = async (): Promise<RevocationStore> => {
    const s = openRevocationStore(cfg, { log });
    await s.ready();
    return s;
  };

  test('a second instance sees a revocation from the first, and is told through onRevoke', async () => {
    const [a, b] = [await open(), await open()];
    try {
      const heardByB: Revocation[] = [];
      b.onRevoke((r) => heardByB.push(r));
      const now = Math.floor(Date.now() / 1000);
      const t = token({ iat: now - 10, subject: 'carol', agent: 'reporter' });
      await a.revoke({ kind: 'jti', jti: t.jti, exp: now + 120 });
      await eventually(() => b.isRevoked(t) || undefined, 'b sees the jti revocation');
      const byAgent = token({ iat: now - 10, agent: 'scheduler' });
      await a.revoke({ kind: 'agent', agent: 'scheduler', at: now });
      await eventually(() => b.isRevoked(byAgent) || undefined, 'b sees the agent revocation');
      const byPerson = token({ iat: now - 10, subject: 'dana' });
      await b.revoke({ kind: 'person', issuer: IDP, subject: 'dana', at: now });
      await eventually(() => a.isRevoked(byPerson) || undefined, 'a sees the person revocation from b');
      assert.deepEqual(
        heardByB.map((r) => r.kind),
        ['jti', 'agent', 'person'],
        'b heard the two revocations from a and its own, each once',
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('a restart keeps revocations: a store opened later loads them; a jti key expires with its token', async () => {
    const first = await open();
    const now = Math.floor(Date.now() / 1000);
    const byJti = token({ iat: now - 1 });
    await first.revoke({ kind: 'jti', jti: byJti.jti, exp: now + 90 });
    await first.revoke({ kind: 'agent', agent: 'archivist', at: now });
    await first.revoke({ kind: 'person', issuer: IDP, subject: 'erin', at: now });
    await first.close();
    const restarted = await open();
    try {
      assert.equal(restarted.isRevoked(byJti), true);
      assert.equal(restarted.isRevoked(token({ agent: 'archivist', iat: now - 1 })), true);
      assert.equal(restarted.isRevoked(token({ subject: 'erin', iat: now - 1 })), true);
      assert.equal(restarted.isRevoked(token({ subject: 'erin', iat: now + 1 })), false);
      const ttl = await admin.ttl(`${cfg.keyPrefix}jti:${byJti.jti}`);
      assert.ok(ttl > 0 && ttl <= 90, `jti key TTL ${ttl}`);
    } finally {
      await restarted.close();
    }
  });

  test('with no Redis, ready() and revoke() reject within a bound; the revocation still holds here', async () => {
    const s = openRevocationStore({ type: 'redis', url: 'redis://127.0.0.1:1', keyPrefix }, { log });
    const bound = <T>(p: Promise<T>): Promise<T | 'hung'> => Promise.race([p, sleep(8_000, 'hung' as const, { ref: false })]);
    try {
      await assert.rejects(bound(s.ready()));
      const t = token({ iat: Math.floor(Date.now() / 1000) - 1 });
      await assert.rejects(bound(s.revoke({ kind: 'jti', jti: t.jti, exp: t.iat + 60 })));
      assert.equal(s.isRevoked(t), true);
    } finally {
      await s.close();
    }
  });
});
