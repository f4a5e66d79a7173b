// Signs the identity assertion (credentials/types.ts AssertionClaims) and reuses it: one per
// identity, roles and audience, reused while more than half of its lifetime remains, re-signed when
// the signing key changes. Signing is jose's SignJWT over WebCrypto: about 90 µs, but off the event
// loop (node:crypto's synchronous sign blocks it for about 70 µs), and only on a cache miss.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { AssertionClaims, KeyRing } from '../../credentials/types.ts';
import type { Identity } from '../../gateway/types.ts';

/** The JWS `typ`: tells an assertion from a delegated token signed with the same ring (RFC 8725 §3.11). */
export const ASSERTION_TYP = 'cortex-assertion+jwt';
const DEFAULT_MAX_ENTRIES = 10_000;

export interface AssertionSettings {
  readonly issuer: string;
  readonly lifetimeSeconds: number;
}

export interface MintedAssertion {
  readonly token: string;
  readonly claims: AssertionClaims;
  readonly kid: string;
  /** Reused until this time (ms, the minter's clock): half the lifetime. */
  readonly refreshAt: number;
}

export interface AssertionMinter {
  /** A cached assertion (synchronous), or a promise of a new one; rejects when nothing can sign. */
  mint(identity: Identity, audience: string, settings: AssertionSettings): MintedAssertion | Promise<MintedAssertion>;
  /** Forgets every cached assertion (a rotation; tests). */
  clear(): void;
  readonly size: number;
}

export interface AssertionMinterOptions {
  /** The ring, once open. */
  ring: () => KeyRing | undefined;
  now?: () => number;
  maxEntries?: number;
}

/** The claims for this caller: an agent acting for a person speaks as the person, the agent in `act`. */
export function assertionClaims(identity: Identity, audience: string, issuer: string, iat: number, lifetimeSeconds: number): AssertionClaims {
  const person = identity.onBehalfOf;
  const base = { iss: issuer, aud: audience, kind: identity.kind, provider: identity.provider, iat, exp: iat + lifetimeSeconds, jti: randomUUID() };
  if (person === undefined) return { ...base, sub: identity.subject, roles: identity.roles };
  return { ...base, sub: person.subject, roles: person.roles, act: { sub: identity.subject, roles: identity.roles } };
}

/** Every input the claims depend on, except the clock and the key. */
function cacheKey(identity: Identity, audience: string): string {
  const person = identity.onBehalfOf;
  const personRoles = person === undefined ? '' : person.roles.join('\u0001');
  return `${audience}\u0000${identity.fingerprint}\u0000${identity.kind}\u0000${identity.provider}\u0000${identity.roles.join('\u0001')}\u0000${personRoles}`;
}

export function createAssertionMinter(opts: AssertionMinterOptions): AssertionMinter {
  const now = opts.now ?? Date.now;
  const maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const cache = new Map<string, MintedAssertion>();
  const pending = new Map<string, Promise<MintedAssertion>>();
  // Identities come from the verified-token cache, the same object on every request with the token:
  // the key is built once per identity and audience (a string built per request costs more than the rest).
  const keys = new WeakMap<Identity, Map<string, string>>();
  const keyOf = (identity: Identity, audience: string): string => {
    let byAudience = keys.get(identity);
    if (byAudience === undefined) keys.set(identity, (byAudience = new Map<string, string>()));
    let key = byAudience.get(audience);
    if (key === undefined) byAudience.set(audience, (key = cacheKey(identity, audience)));
    return key;
  };
  let subscribed: KeyRing | undefined;
  let unsubscribe: (() => void) | undefined;

  function watch(ring: KeyRing): void {
    if (subscribed === ring) return;
    unsubscribe?.();
    subscribed = ring;
    unsubscribe = ring.onRotate(() => cache.clear());
  }

  async function sign(key: string, identity: Identity, audience: string, settings: AssertionSettings, ring: KeyRing): Promise<MintedAssertion> {
    const signer = ring.signer();
    const at = now();
    const claims = assertionClaims(identity, audience, settings.issuer, Math.floor(at / 1000), settings.lifetimeSeconds);
    const token = await new SignJWT({ ...claims }).setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: ASSERTION_TYP }).sign(signer.privateKey);
    const minted: MintedAssertion = { token, claims, kid: signer.kid, refreshAt: claims.iat * 1000 + (settings.lifetimeSeconds * 1000) / 2 };
    if (cache.size >= maxEntries) {
      // Oldest inserted first: a Map iterates in insertion order.
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(key, minted);
    return minted;
  }

  return {
    mint(identity, audience, settings) {
      const ring = opts.ring();
      if (ring === undefined) return Promise.reject(new Error('the signing keys are not open'));
      watch(ring);
      const key = keyOf(identity, audience);
      const hit = cache.get(key);
      if (hit !== undefined && now() < hit.refreshAt && hit.kid === ring.signer().kid && hit.claims.iss === settings.issuer) return hit;
      const inFlight = pending.get(key);
      if (inFlight !== undefined) return inFlight;
      const settled = sign(key, identity, audience, settings, ring).finally(() => pending.delete(key));
      pending.set(key, settled);
      return settled;
    },
    clear() {
      cache.clear();
    },
    get size() {
      return cache.size;
    },
  };
}
