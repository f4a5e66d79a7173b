// API keys: the key format, the record kept for each key, the store contract, and issuing.
// A key is `ctx_<keyId>_<secret>`: a 12-character id from [a-z2-7] (looked up in the store) and 32
// random bytes in base64url (43 characters), of which only HMAC-SHA-256(hmacSecret, secret) is
// kept. The fixed prefix and lengths let leak scanners find keys with KEY_SCAN_PATTERN. Stores:
// SQLite (one host) or PostgreSQL (a fleet); one contract test suite runs against both
// (test/integration/api-keys/store-contract.test.ts). Times are epoch milliseconds.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const KEY_PREFIX = 'ctx_';
export const KEY_ID_LENGTH = 12;
export const SECRET_LENGTH = 43;
export const KEY_LENGTH = KEY_PREFIX.length + KEY_ID_LENGTH + 1 + SECRET_LENGTH;

/** A whole key, exactly. */
export const KEY_PATTERN = /^ctx_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/;
/** For secret scanners: a key inside any text (not preceded or followed by another key character). */
export const KEY_SCAN_PATTERN = /(?<![A-Za-z0-9_-])ctx_[a-z2-7]{12}_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;
export const KEY_ID_PATTERN = /^[a-z2-7]{12}$/;

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export interface ParsedKey {
  keyId: string;
  secret: string;
}

/** Splits a presented key by position (the secret itself may contain `_`); undefined for any other shape. */
export function parseKey(value: string): ParsedKey | undefined {
  if (value.length !== KEY_LENGTH || !KEY_PATTERN.test(value)) return undefined;
  const idStart = KEY_PREFIX.length;
  return { keyId: value.slice(idStart, idStart + KEY_ID_LENGTH), secret: value.slice(idStart + KEY_ID_LENGTH + 1) };
}

export function newKeyId(): string {
  // 32 symbols divide 256, so masking each byte keeps the choice uniform.
  const bytes = randomBytes(KEY_ID_LENGTH);
  let id = '';
  for (const b of bytes) id += ID_ALPHABET[b & 31];
  return id;
}

export function newKey(): { key: string; keyId: string; secret: string } {
  const keyId = newKeyId();
  const secret = randomBytes(32).toString('base64url');
  return { key: `${KEY_PREFIX}${keyId}_${secret}`, keyId, secret };
}

export function hashSecret(hmacSecret: string, secret: string): Buffer {
  return createHmac('sha256', hmacSecret).update(secret).digest();
}

export function secretMatches(hmacSecret: string, secret: string, stored: Uint8Array): boolean {
  const actual = hashSecret(hmacSecret, secret);
  return stored.byteLength === actual.byteLength && timingSafeEqual(actual, stored);
}

export type ApiKeyKind = 'service' | 'user';

export interface ApiKeyRecord {
  keyId: string;
  kind: ApiKeyKind;
  /** The service name or the user name. */
  subject: string;
  roles: readonly string[];
  createdAt: number;
  expiresAt?: number;
  revokedAt?: number;
  lastUsedAt?: number;
  description?: string;
}

export interface StoredApiKey extends ApiKeyRecord {
  /** HMAC-SHA-256(hmacSecret, secret). */
  secretHash: Uint8Array;
}

export type RevokeResult = 'revoked' | 'already_revoked' | 'not_found';

export interface ApiKeyStore {
  readonly type: 'sqlite' | 'postgres';
  /** SQLite answers synchronously; PostgreSQL with a promise. */
  find(keyId: string): StoredApiKey | undefined | Promise<StoredApiKey | undefined>;
  insert(key: StoredApiKey): Promise<void>;
  /** Every key, newest first, without the secret hashes. */
  list(): Promise<ApiKeyRecord[]>;
  revoke(keyId: string, at: number): Promise<RevokeResult>;
  /** Records when keys were last used (keyId → epoch ms); never moves a time backwards. */
  touch(used: ReadonlyMap<string, number>): Promise<void>;
  /**
   * Called with a keyId whenever a key is created or revoked anywhere (PostgreSQL: LISTEN/NOTIFY
   * from every gateway; SQLite: this process only), and with undefined when notifications may have
   * been missed (a lost LISTEN connection), so caches can drop everything.
   */
  onChange(listener: (keyId: string | undefined) => void): void;
  ready(): boolean;
  close(): Promise<void>;
}

/** A record as shown to operators: never the hash. */
export function publicRecord(key: StoredApiKey | ApiKeyRecord): ApiKeyRecord {
  const out: ApiKeyRecord = { keyId: key.keyId, kind: key.kind, subject: key.subject, roles: [...key.roles], createdAt: key.createdAt };
  if (key.expiresAt !== undefined) out.expiresAt = key.expiresAt;
  if (key.revokedAt !== undefined) out.revokedAt = key.revokedAt;
  if (key.lastUsedAt !== undefined) out.lastUsedAt = key.lastUsedAt;
  if (key.description !== undefined) out.description = key.description;
  return out;
}

// Issuing: shared by `cortex api-keys create` and POST /api/api-keys. The key is returned once,
// here; the store keeps only its id and the HMAC of its secret.

export interface IssueRequest {
  kind: ApiKeyKind;
  subject: string;
  roles: readonly string[];
  expiresInSeconds?: number;
  description?: string;
}

export interface IssuedKey {
  /** The whole key: shown once, never stored. */
  key: string;
  record: ApiKeyRecord;
}

const NAME = /^[^\p{Cc}\s][^\p{Cc}]{0,199}$/u;
const ROLE = /^[^\p{Cc}\s]{1,100}$/u;
const MAX_ROLES = 50;
const MAX_DESCRIPTION = 500;

/** Why a request cannot be issued, or undefined when it can. */
export function issueProblem(input: unknown): string | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return 'expected a JSON object';
  const r = input as Record<string, unknown>;
  const known = new Set(['kind', 'subject', 'roles', 'expiresInSeconds', 'description']);
  const extra = Object.keys(r).find((k) => !known.has(k));
  if (extra !== undefined) return `unknown field "${extra}"`;
  if (r.kind !== 'service' && r.kind !== 'user') return 'kind must be "service" or "user"';
  if (typeof r.subject !== 'string' || !NAME.test(r.subject) || r.subject.trim() !== r.subject) return 'subject must be a name of 1 to 200 characters without control characters or surrounding spaces';
  if (!Array.isArray(r.roles) || r.roles.length > MAX_ROLES || !r.roles.every((x) => typeof x === 'string' && ROLE.test(x))) {
    return `roles must be a list of at most ${MAX_ROLES} role names without spaces`;
  }
  const exp = r.expiresInSeconds;
  if (exp !== undefined && (typeof exp !== 'number' || !Number.isSafeInteger(exp) || exp < 1 || exp > 10 * 365 * 86_400)) {
    return 'expiresInSeconds must be a whole number of seconds from 1 to ten years';
  }
  const d = r.description;
  if (d !== undefined && (typeof d !== 'string' || d.length > MAX_DESCRIPTION)) return `description must be text of at most ${MAX_DESCRIPTION} characters`;
  return undefined;
}

export async function issueApiKey(store: ApiKeyStore, hmacSecret: string, req: IssueRequest, now: number = Date.now()): Promise<IssuedKey> {
  const { key, keyId, secret } = newKey();
  const stored: StoredApiKey = {
    keyId,
    kind: req.kind,
    subject: req.subject,
    roles: [...new Set(req.roles)].sort(),
    createdAt: now,
    secretHash: hashSecret(hmacSecret, secret),
  };
  if (req.expiresInSeconds !== undefined) stored.expiresAt = now + req.expiresInSeconds * 1000;
  if (req.description !== undefined && req.description !== '') stored.description = req.description;
  await store.insert(stored);
  return { key, record: publicRecord(stored) };
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800 };

/** '90s', '15m', '12h', '30d', '2w' → seconds; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const m = /^([1-9][0-9]{0,5})([smhdw])$/.exec(text);
  if (m === null) return undefined;
  return Number(m[1]) * (UNIT_SECONDS[m[2] as string] as number);
}
