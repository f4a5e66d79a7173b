// Shared by the key ring tests: a config, a KEK, a ring on a real file store over an injected clock,
// and a token signed and verified the way an upstream would (jose against the published JWKS).
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';
import type { SigningKeysConfig } from '../../../src/config/schema-credentials.ts';
import { openKeyRing } from '../../../src/credentials/key-ring.ts';
import type { KeyRingEvent, TickingKeyRing } from '../../../src/credentials/key-ring.ts';
import { kekFromText } from '../../../src/credentials/key-seal.ts';
import { openFileKeyStore } from '../../../src/credentials/stores/file-store.ts';
import type { KeyRingStore } from '../../../src/credentials/types.ts';

export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;
export const TOKEN_LIFETIME_MS = 5 * MIN;
export const T0 = Date.UTC(2026, 0, 1);

export const KEK_TEXT = randomBytes(32).toString('hex');

const tempDirs: string[] = [];
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export async function tempRingPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cortex-ring-'));
  tempDirs.push(dir);
  return join(dir, 'keys', 'signing-keys.json');
}

export function ringConfig(path: string, over: Partial<SigningKeysConfig> = {}): SigningKeysConfig {
  return { algorithm: 'ES256', store: { type: 'file', path }, encryptionKey: KEK_TEXT, rotateEveryMs: DAY, publishAheadMs: HOUR, retainPublicMs: 2 * DAY, ...over };
}

export interface Clock {
  t: number;
}

export interface TestRing {
  ring: TickingKeyRing;
  events: KeyRingEvent[];
  rotations: string[];
}

export async function openTestRing(cfg: SigningKeysConfig, clock: Clock, opts: { store?: KeyRingStore; kekText?: string } = {}): Promise<TestRing> {
  const events: KeyRingEvent[] = [];
  const rotations: string[] = [];
  const store = opts.store ?? openFileKeyStore((cfg.store as { path: string }).path);
  const ring = await openKeyRing(cfg, {
    store,
    kek: await kekFromText(opts.kekText ?? KEK_TEXT),
    now: () => clock.t,
    maxTokenLifetimeMs: TOKEN_LIFETIME_MS,
    onEvent: (e) => events.push(e),
  });
  ring.onRotate((s) => rotations.push(s.kid));
  return { ring, events, rotations };
}

/** An assertion signed now by the ring's signer, valid for TOKEN_LIFETIME_MS. */
export async function signNow(ring: TickingKeyRing, clock: Clock, sub = 'alice'): Promise<string> {
  const s = ring.signer();
  const iat = Math.floor(clock.t / 1000);
  return new SignJWT({ sub })
    .setProtectedHeader({ alg: s.alg, kid: s.kid, typ: 'JWT' })
    .setIssuedAt(iat)
    .setExpirationTime(iat + TOKEN_LIFETIME_MS / 1000)
    .sign(s.privateKey);
}

/** Verifies as an upstream would at the clock's time, against the JWKS published now; the kid on success. */
export async function verifyNow(ring: TickingKeyRing, clock: Clock, jwt: string): Promise<string> {
  const { protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(ring.jwks()), { currentDate: new Date(clock.t) });
  return protectedHeader.kid as string;
}

export function publishedKids(ring: TickingKeyRing): string[] {
  return ring.jwks().keys.map((k) => k.kid as string);
}

/** Lets microtask-delivered notices (onRotate, events) arrive. */
export function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
