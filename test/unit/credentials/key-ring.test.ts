// The ring beyond its schedule: forced rotation, two rings on one store, a wrong key-encryption
// key, a change of algorithm, and the private keys at rest.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { UnsealError } from '../../../src/credentials/key-seal.ts';
import { DAY, HOUR, T0, openTestRing, publishedKids, ringConfig, settle, signNow, tempRingPath, verifyNow } from './ring-kit.ts';
import type { Clock } from './ring-kit.ts';

test('rotateNow: a new key signs at once, the old one retires now and stays published', async () => {
  const clock: Clock = { t: T0 };
  const { ring, events, rotations } = await openTestRing(ringConfig(await tempRingPath()), clock);
  try {
    const k1 = ring.signer().kid;
    const byK1 = await signNow(ring, clock);
    clock.t += 1000;
    await ring.rotateNow();
    const k2 = ring.signer().kid;
    assert.notEqual(k2, k1);
    await settle();
    assert.deepEqual(rotations, [k2]);
    assert.deepEqual(events.slice(1), [
      { type: 'created', kid: k2 },
      { type: 'retired', kid: k1 },
      { type: 'rotated', kid: k2 },
    ]);
    assert.deepEqual(publishedKids(ring), [k1, k2]);
    assert.equal(ring.list().find((k) => k.kid === k1)?.retiresAt, clock.t);
    assert.equal(await verifyNow(ring, clock, byK1), k1);
    assert.equal(await verifyNow(ring, clock, await signNow(ring, clock)), k2);
  } finally {
    await ring.close();
  }
});

test('rotateNow drops a scheduled next key that never signed', async () => {
  const clock: Clock = { t: T0 };
  const { ring, events } = await openTestRing(ringConfig(await tempRingPath()), clock);
  try {
    const k1 = ring.signer().kid;
    clock.t = T0 + DAY - HOUR;
    await ring.tick();
    const planned = ring.list().find((k) => k.state === 'next')?.kid as string;
    assert.ok(planned);
    await ring.rotateNow();
    const k3 = ring.signer().kid;
    assert.ok(events.some((e) => e.type === 'pruned' && e.kid === planned));
    assert.deepEqual(publishedKids(ring), [k1, k3]);
    clock.t = T0 + DAY;
    assert.equal(ring.signer().kid, k3, 'the dropped key never takes over');
  } finally {
    await ring.close();
  }
});

test('two rings on one store sign with the same key, and the second sees the first rotate at its next tick', async () => {
  const clock: Clock = { t: T0 };
  const cfg = ringConfig(await tempRingPath());
  const a = await openTestRing(cfg, clock);
  const b = await openTestRing(cfg, clock);
  try {
    assert.equal(b.ring.signer().kid, a.ring.signer().kid);
    assert.deepEqual(b.events, [], 'the second ring created nothing');
    await a.ring.rotateNow();
    await b.ring.tick();
    assert.equal(b.ring.signer().kid, a.ring.signer().kid);
    await settle();
    assert.deepEqual(b.rotations, [a.ring.signer().kid]);
    clock.t = T0 + DAY - HOUR;
    await Promise.all([a.ring.tick(), b.ring.tick()]);
    assert.equal(a.ring.list().length, 3, 'one next key, not two');
    assert.deepEqual(b.ring.list(), a.ring.list());
  } finally {
    await a.ring.close();
    await b.ring.close();
  }
});

test('a wrong key-encryption key fails to open the ring, naming the kid', async () => {
  const clock: Clock = { t: T0 };
  const cfg = ringConfig(await tempRingPath());
  const a = await openTestRing(cfg, clock);
  const kid = a.ring.signer().kid;
  await a.ring.close();
  await assert.rejects(openTestRing(cfg, clock, { kekText: randomBytes(32).toString('hex') }), (e: unknown) => e instanceof UnsealError && e.kid === kid && e.message.includes(kid));
});

test('private keys are sealed in the file; a change of algorithm applies from the next key', async () => {
  const clock: Clock = { t: T0 };
  const path = await tempRingPath();
  const a = await openTestRing(ringConfig(path, { algorithm: 'EdDSA' }), clock);
  assert.equal(a.ring.signer().alg, 'EdDSA');
  const k1 = a.ring.signer().kid;
  await a.ring.close();
  const text = await readFile(path, 'utf8');
  assert.ok(!text.includes('"d"') && !text.includes('PRIVATE KEY'), 'no private key in clear');
  const b = await openTestRing(ringConfig(path, { algorithm: 'RS256' }), clock);
  try {
    assert.equal(b.ring.signer().kid, k1, 'the EdDSA key keeps signing');
    clock.t += 1000;
    await b.ring.rotateNow();
    assert.equal(b.ring.signer().alg, 'RS256');
    assert.equal(await verifyNow(b.ring, clock, await signNow(b.ring, clock)), b.ring.signer().kid);
    assert.deepEqual(
      b.ring.jwks().keys.map((k) => k.alg),
      ['EdDSA', 'RS256'],
    );
  } finally {
    await b.ring.close();
  }
});

test('an onRotate listener that unsubscribed hears nothing', async () => {
  const clock: Clock = { t: T0 };
  const { ring } = await openTestRing(ringConfig(await tempRingPath()), clock);
  try {
    const heard: string[] = [];
    const off = ring.onRotate((s) => heard.push(s.kid));
    await ring.rotateNow();
    await settle();
    off();
    await ring.rotateNow();
    await settle();
    assert.equal(heard.length, 1);
  } finally {
    await ring.close();
  }
});
