// `cortex signing-keys list|rotate` on a file store, with the signingKeys section given directly
// (credentials is not in the config schema yet).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { runSigningKeys } from '../../../src/cli/signing-keys.ts';
import type { SigningKeysIo } from '../../../src/cli/signing-keys.ts';
import { DAY, HOUR, T0, openTestRing, ringConfig, tempRingPath } from './ring-kit.ts';
import type { Clock } from './ring-kit.ts';

function capture(over: Partial<SigningKeysIo>): { io: SigningKeysIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, ...over },
    out: () => out,
    err: () => err,
  };
}

test('list shows each key with its state, age and whether it is published; rotate prints the new kid', async () => {
  const clock: Clock = { t: T0 };
  const cfg = ringConfig(await tempRingPath());
  const { ring } = await openTestRing(cfg, clock);
  const k1 = ring.signer().kid;
  clock.t = T0 + DAY - HOUR;
  await ring.tick();
  const k2 = ring.list()[1]?.kid as string;
  await ring.close();

  const listed = capture({ signingKeys: cfg, maxTokenLifetimeMs: 300_000, now: () => T0 + DAY - HOUR });
  assert.equal(await runSigningKeys(['list'], listed.io), 0, listed.err());
  const lines = listed.out().trimEnd().split('\n');
  assert.match(lines[0] as string, /^KID\s+ALG\s+STATE\s+AGE\s+ACTIVATES\s+RETIRES\s+PUBLISHED$/);
  assert.match(lines[1] as string, new RegExp(`^${k1}\\s+ES256\\s+active\\s+23h0m\\s+2026-01-01T00:00:00Z\\s+2026-01-02T00:00:00Z\\s+yes$`));
  assert.match(lines[2] as string, new RegExp(`^${k2}\\s+ES256\\s+next\\s+0s\\s+2026-01-02T00:00:00Z\\s+-\\s+yes$`));

  const rotated = capture({ signingKeys: cfg, maxTokenLifetimeMs: 300_000, now: () => T0 + DAY - 30 * 60_000 });
  assert.equal(await runSigningKeys(['rotate'], rotated.io), 0, rotated.err());
  const k3 = rotated.out().trim();
  assert.match(k3, /^[A-Za-z0-9_-]{43}$/);
  assert.match(rotated.err(), new RegExp(`rotated: ${k3} \\(ES256\\) signs from now; ${k1} retired`));

  const after = capture({ signingKeys: cfg, maxTokenLifetimeMs: 300_000, now: () => T0 + DAY });
  assert.equal(await runSigningKeys(['list'], after.io), 0);
  const states = after
    .out()
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((l) => l.split(/\s+/).slice(0, 3).join(' '));
  assert.deepEqual(states, [`${k1} ES256 retired`, `${k3} ES256 active`], 'the planned key that never signed is gone');
});

test('rotate with a wrong key-encryption key changes nothing and says which key', async () => {
  const clock: Clock = { t: T0 };
  const cfg = ringConfig(await tempRingPath());
  const { ring } = await openTestRing(cfg, clock);
  const k1 = ring.signer().kid;
  await ring.close();
  const short = capture({ signingKeys: { ...cfg, encryptionKey: 'x'.repeat(8) } });
  assert.equal(await runSigningKeys(['rotate'], short.io), 1);
  assert.match(short.err(), /key-encryption key must be 32 bytes/);
  const other = capture({ signingKeys: { ...cfg, encryptionKey: randomBytes(32).toString('hex') } });
  assert.equal(await runSigningKeys(['rotate'], other.io), 1, 'a key sealed under another KEK would stop every gateway');
  assert.equal(other.err(), `cortex signing-keys: signing key ${k1}: cannot decrypt its private key (wrong key-encryption key, or the record was altered or moved from another kid)\n`);
  const listed = capture({ signingKeys: cfg });
  assert.equal(await runSigningKeys(['list'], listed.io), 0);
  assert.equal(listed.out().trimEnd().split('\n').length, 2, 'still one key');
});

test('usage errors exit 2', async () => {
  const bad = capture({});
  assert.equal(await runSigningKeys(['spin'], bad.io), 2);
  assert.match(bad.err(), /unknown subcommand "spin"/);
  const stage = capture({});
  assert.equal(await runSigningKeys(['list', '--stage', 'qa'], stage.io), 2);
  assert.match(stage.err(), /unknown stage "qa"/);
});
