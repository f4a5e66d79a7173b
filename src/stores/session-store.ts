// Where browser sessions and login transactions live: memory (one process), SQLite (one host),
// Redis (a fleet). One contract test suite runs against every backend (test/integration/stores/).
// Session ids are random and opaque; the cookie carries only a signed id, never these records.

export interface SessionTokens {
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
  /** Epoch milliseconds. */
  accessTokenExpiresAt: number;
}

export interface SessionRecord {
  /** The store key: 32 random bytes, base64url. */
  id: string;
  subject: string;
  /** Epoch milliseconds. */
  createdAt: number;
  lastSeenAt: number;
  /** The absolute end of the session (login + absoluteTimeoutSeconds). */
  expiresAt: number;
  tokens: SessionTokens;
  /** Verified claims the identity is derived from (access token claims, else ID token claims). */
  claims: Record<string, unknown>;
  /** Bumped on every write; compareAndSet refuses a write based on a stale version. */
  version: number;
}

/** One login in progress, bound to the browser that started it by a cookie naming `id`. */
export interface LoginTransaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** A same-origin relative path to return to after login. */
  returnTo: string;
  createdAt: number;
}

export interface SessionStore {
  get(id: string): Promise<SessionRecord | undefined>;
  /** Writes the record; it expires from the store after ttlSeconds. */
  set(record: SessionRecord, ttlSeconds: number): Promise<void>;
  /**
   * Writes only if the stored record's version is expectedVersion (so two gateways refreshing one
   * session cannot both win); false when the stored version differs or the record is gone.
   */
  compareAndSet(record: SessionRecord, expectedVersion: number, ttlSeconds: number): Promise<boolean>;
  delete(id: string): Promise<void>;
  putTransaction(id: string, tx: LoginTransaction, ttlSeconds: number): Promise<void>;
  /** Returns the transaction and deletes it, atomically: a replayed callback finds nothing. */
  takeTransaction(id: string): Promise<LoginTransaction | undefined>;
  /** Connected (a networked store); memory and SQLite are always ready. */
  ready?(): boolean;
  close(): Promise<void>;
}
