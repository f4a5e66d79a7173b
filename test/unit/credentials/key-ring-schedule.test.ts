// The ring's schedule over an injected clock, through three rotations: at each step the JWKS holds
// exactly the expected kids, the signer changes at the next key's activatesAt, a retired key leaves
// the JWKS once no token it signed can be valid, its public half stays until retainPublicMs, and a
// token signed by each key verifies (jose, against the JWKS of the time) for as long as it lives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DAY, HOUR, MIN, T0, TOKEN_LIFETIME_MS, openTestRing, publishedKids, ringConfig, settle, signNow, tempRingPath, verifyNow } from './ring-kit.ts';
import type { Clock } from './ring-kit.ts';

const SKEW = MIN;

test('three scheduled rotations: publish ahead, switch at activatesAt, unpublish, prune', async () => {
  const clock: Clock = { t: T0 };
  const { ring, events, rotations } = await openTestRing(ringConfig(await tempRingPath()), clock);
  try {
    const k1 = ring.signer().kid;
    assert.deepEqual(events, [{ type: 'created', kid: k1 }], 'an empty store gets a first key, active at once');
    assert.deepEqual(publishedKids(ring), [k1]);
    assert.deepEqual(
      ring.list().map((k) => [k.kid, k.state, k.published]),
      [[k1, 'active', true]],
    );

    const kids = [k1];
    for (let n = 1; n <= 3; n++) {
      const rotation = T0 + n * DAY;
      const old = kids[n - 1] as string;

      clock.t = rotation - HOUR - 1;
      await ring.tick();
      assert.equal(ring.list().length, n, 'no next key before publishAheadMs');

      clock.t = rotation - HOUR;
      await ring.tick();
      const next = ring.list().find((k) => k.state === 'next');
      assert.ok(next, `rotation ${n}: the next key is published ahead`);
      kids.push(next.kid);
      assert.equal(next.activatesAt, rotation);
      assert.equal(ring.list().find((k) => k.kid === old)?.retiresAt, rotation);
      assert.deepEqual(publishedKids(ring), [old, next.kid], `rotation ${n}: published before it signs`);
      assert.equal(ring.signer().kid, old);
      assert.ok(events.some((e) => e.type === 'created' && e.kid === next.kid));

      clock.t = rotation - 1;
      const byOld = await signNow(ring, clock);
      assert.equal(await verifyNow(ring, clock, byOld), old);

      clock.t = rotation;
      assert.equal(ring.signer().kid, next.kid, `rotation ${n}: the next key signs at its activatesAt, without a tick`);
      await settle();
      assert.deepEqual(rotations, kids.slice(1), 'onRotate fired once per rotation');
      assert.equal(ring.list().find((k) => k.kid === old)?.state, 'retired');
      const byNext = await signNow(ring, clock);
      assert.equal(await verifyNow(ring, clock, byNext), next.kid);
      assert.equal(await verifyNow(ring, clock, byOld), old, 'a token of the retired key still verifies while it lives');

      clock.t = rotation + TOKEN_LIFETIME_MS + SKEW - 1;
      assert.deepEqual(publishedKids(ring), [old, next.kid]);
      clock.t = rotation + TOKEN_LIFETIME_MS + SKEW;
      assert.deepEqual(publishedKids(ring), [next.kid], `rotation ${n}: the retired key leaves the JWKS after the longest token lifetime`);
      assert.ok(ring.publicKey(old), 'its public half is kept');
      assert.equal(ring.list().find((k) => k.kid === old)?.published, false);
    }
    assert.deepEqual(
      events.filter((e) => e.type === 'rotated').map((e) => e.kid),
      kids.slice(1),
    );
    assert.deepEqual(
      events.filter((e) => e.type === 'retired').map((e) => e.kid),
      kids.slice(0, 3),
    );

    // K1 retired at T0 + 1 day; retainPublicMs is 2 days.
    const [k1b, k2, k3, k4] = kids as [string, string, string, string];
    assert.equal(k1b, k1);
    clock.t = T0 + 3 * DAY - 1;
    await ring.tick();
    assert.ok(ring.publicKey(k1), 'kept until retainPublicMs');
    clock.t = T0 + 3 * DAY;
    await ring.tick();
    assert.equal(ring.publicKey(k1), undefined, 'then pruned');
    assert.ok(events.some((e) => e.type === 'pruned' && e.kid === k1));
    assert.ok(ring.publicKey(k2));
    assert.deepEqual(
      ring.list().map((k) => [k.kid, k.state]),
      [
        [k2, 'retired'],
        [k3, 'retired'],
        [k4, 'active'],
      ],
    );
    assert.equal(new Set(kids).size, 4);
  } finally {
    await ring.close();
  }
});

test('after a long stop the next key is still published ahead, and the old one signs until then', async () => {
  const clock: Clock = { t: T0 };
  const path = await tempRingPath();
  const first = await openTestRing(ringConfig(path), clock);
  const k1 = first.ring.signer().kid;
  await first.ring.close();
  clock.t = T0 + 5 * DAY;
  const { ring } = await openTestRing(ringConfig(path), clock);
  try {
    assert.equal(ring.signer().kid, k1);
    const next = ring.list().find((k) => k.state === 'next');
    assert.equal(next?.activatesAt, clock.t + HOUR);
    assert.deepEqual(publishedKids(ring), [k1, next.kid]);
    clock.t += HOUR;
    assert.equal(ring.signer().kid, next.kid);
  } finally {
    await ring.close();
  }
});
