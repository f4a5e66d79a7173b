// The contract between the parts of the credentials plane (src/credentials/): the key ring that
// signs, the stores that keep it, the assertion minted for upstreams, and the token exchange.
import type { KeyObject } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';

export type SigningAlgorithm = 'ES256' | 'EdDSA' | 'RS256';

/** A key's place in its life: published before it signs, signing, then retired (verifies only). */
export type KeyState = 'next' | 'active' | 'retired';

/** One key of the ring as stored: the private half encrypted with the key-encryption key. */
export interface StoredKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** The public JWK (kty, crv/n/e, x/y, ...; no private members). */
  readonly publicJwk: Readonly<Record<string, unknown>>;
  /** AES-256-GCM sealed PKCS#8 private key: base64url of iv | tag | ciphertext. */
  readonly sealedPrivateKey: string;
  /** When it was created and published (ms since epoch). */
  readonly createdAt: number;
  /** When it starts signing (createdAt + publishAheadMs for a scheduled key). */
  readonly activatesAt: number;
  /** When it stops signing (the next key's activatesAt); undefined while no successor is planned. */
  readonly retiresAt?: number;
}

/** Persistence of the ring: a file on one host, PostgreSQL for a fleet (every instance shares it). */
export interface KeyRingStore {
  /** Every key the store holds, oldest first. */
  load(): Promise<StoredKey[]>;
  /**
   * Applies a change atomically against what the caller loaded: with PostgreSQL two instances that
   * try to rotate at once end with one new key, not two. Returns the keys after the change.
   */
  update(change: (keys: readonly StoredKey[]) => StoredKey[] | undefined): Promise<StoredKey[]>;
  /**
   * Tells the ring that another instance changed the store (PostgreSQL: NOTIFY), so it reloads at
   * once instead of at its next periodic reload. Returns the unsubscribe. A file store has none.
   */
  onChange?(listener: () => void): () => void;
  close(): Promise<void>;
}

/** What signs right now. */
export interface ActiveSigner {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly privateKey: KeyObject;
}

export interface KeyInfo {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly state: KeyState;
  readonly createdAt: number;
  readonly activatesAt: number;
  readonly retiresAt?: number;
  /** Whether the key is in the published JWKS. */
  readonly published: boolean;
}

/** The ring as the data plane sees it: synchronous reads of the current state. */
export interface KeyRing {
  /** The key that signs now. */
  signer(): ActiveSigner;
  /** The published keys (next, active, and retired ones whose tokens may still be valid). */
  jwks(): JSONWebKeySet;
  /** Public key of any key the ring knows, retired ones included (for audit checkpoints). */
  publicKey(kid: string): KeyObject | undefined;
  list(): KeyInfo[];
  /** Called after the active key changes (a rotation here or by another instance). */
  onRotate(listener: (signer: ActiveSigner) => void): () => void;
  /** Forces a rotation now (cortex signing-keys rotate): a new key is made and activates at once. */
  rotateNow(): Promise<void>;
  close(): Promise<void>;
}

/** What an assertion says about the caller (the identity, never the request). */
export interface AssertionClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly kind: 'user' | 'service' | 'agent' | 'anonymous';
  readonly provider: string;
  /** The caller's roles; for an agent acting for a person, the person's (the agent's are in act). */
  readonly roles: readonly string[];
  /** RFC 8693 act for an agent acting for a person: sub is the person, act names the agent. */
  readonly act?: { readonly sub: string; readonly roles: readonly string[] };
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
}

/** A person's consent that an agent may act for them (token exchange checks it). */
export interface AgentGrant {
  /** The person: the issuer of their tokens and their subject there. */
  readonly issuer: string;
  readonly subject: string;
  /** The agent client id (as in identity.providers.*.agents and credentials.tokenExchange.clients). */
  readonly agent: string;
  readonly createdAt: number;
  /** Undefined: until revoked. */
  readonly expiresAt?: number;
  /** Who recorded it: 'self' (the person, on the consent page), or the admin / CLI user. */
  readonly createdBy: string;
}

export interface PersonRef {
  readonly issuer: string;
  readonly subject: string;
}

/** Where grants live: SQLite on one host, PostgreSQL for a fleet. */
export interface AgentGrantStore {
  ready(): Promise<void>;
  has(person: PersonRef, agent: string, nowMs: number): Promise<boolean>;
  grant(grant: Omit<AgentGrant, 'createdAt'> & { createdAt?: number }): Promise<AgentGrant>;
  /** True when there was a grant to remove. */
  revoke(person: PersonRef, agent: string): Promise<boolean>;
  list(filter: { issuer?: string; subject?: string; agent?: string }): Promise<AgentGrant[]>;
  close(): Promise<void>;
}

/** What a delegated token is checked against on every request (synchronously). */
export interface DelegatedTokenRef {
  readonly jti: string;
  readonly agent: string;
  /** The person it acts for. */
  readonly issuer: string;
  readonly subject: string;
  /** Issued at, epoch seconds. */
  readonly iat: number;
}

export type Revocation =
  | { readonly kind: 'jti'; readonly jti: string; /** epoch seconds: forgotten after */ readonly exp: number }
  /** Every delegated token of this agent issued before `at` (epoch seconds). */
  | { readonly kind: 'agent'; readonly agent: string; readonly at: number }
  /** Every delegated token acting for this person issued before `at`. */
  | { readonly kind: 'person'; readonly issuer: string; readonly subject: string; readonly at: number }
  /** Every delegated token of this agent acting for this person issued before `at` (the person withdrew their grant). */
  | { readonly kind: 'grant'; readonly issuer: string; readonly subject: string; readonly agent: string; readonly at: number };

/** Revocations of delegated tokens: memory on one host, Redis (with pub/sub) for a fleet. Effective at once. */
export interface RevocationStore {
  ready(): Promise<void>;
  /** Synchronous over an in-memory mirror, so the data plane never waits. */
  isRevoked(token: DelegatedTokenRef): boolean;
  revoke(r: Revocation): Promise<void>;
  /** Called for every revocation, local or from another instance, after isRevoked reflects it. */
  onRevoke(listener: (r: Revocation) => void): () => void;
  close(): Promise<void>;
}
