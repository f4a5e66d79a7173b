// Verified tokens by digest, so that a caller sending the same token again costs a hash and a map
// lookup instead of a signature check. Never holds the token itself; an entry never outlives the
// token's exp, and goes when the key that signed it leaves the provider's key set.
import { hash } from 'node:crypto';
import type { Identity } from '../gateway/types.ts';
import type { CompiledProvider } from './provider.ts';

export interface CachedToken {
  /** The provider (as compiled into the snapshot that verified it); reused while it is current. */
  provider: CompiledProvider;
  /** The values the token's audience claim holds, checked per route on every hit. */
  readonly audiences: readonly string[];
  /** The token is an ID token accepted as a workload identity (only on routes that allow it). */
  readonly idToken: boolean;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly keyId: string | undefined;
  readonly method: Identity['method'];
  /** Epoch milliseconds after which the entry is dead. */
  readonly expiresAtMs: number;
  identity: Identity;
}

export function tokenDigest(token: string): string {
  return hash('sha256', token, 'base64url');
}

export class TokenCache {
  private readonly entries = new Map<string, CachedToken>();
  private maxEntries: number;
  hits = 0;
  misses = 0;

  constructor(maxEntries: number) {
    this.maxEntries = maxEntries;
  }

  /** A reload may change the bound; a smaller one drops the oldest entries. */
  resize(maxEntries: number): void {
    this.maxEntries = maxEntries;
    for (const digest of this.entries.keys()) {
      if (this.entries.size <= maxEntries) break;
      this.entries.delete(digest);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get(digest: string, nowMs: number): CachedToken | undefined {
    const entry = this.entries.get(digest);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    if (nowMs >= entry.expiresAtMs) {
      this.entries.delete(digest);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry;
  }

  set(digest: string, entry: CachedToken): void {
    if (this.maxEntries === 0) return;
    if (this.entries.size >= this.maxEntries && !this.entries.has(digest)) {
      // Oldest first: Map iterates in insertion order.
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(digest, entry);
  }

  /** Drops every token signed by one of these keys of this issuer's provider. */
  dropKeys(issuerMatches: (iss: string) => boolean, kids: readonly string[]): number {
    const gone = new Set(kids);
    let dropped = 0;
    for (const [digest, entry] of this.entries) {
      if (entry.keyId !== undefined && gone.has(entry.keyId) && issuerMatches(entry.claims.iss as string)) {
        this.entries.delete(digest);
        dropped++;
      }
    }
    return dropped;
  }

  /**
   * Drops every token of this issuer's provider signed by a key outside `kids`: a key set's first
   * fetch after a reload has no previous set to compare with, yet tokens cached before it may be
   * signed by keys it no longer holds.
   */
  dropKeysNotIn(issuerMatches: (iss: string) => boolean, kids: ReadonlySet<string>): number {
    let dropped = 0;
    for (const [digest, entry] of this.entries) {
      if (entry.keyId !== undefined && !kids.has(entry.keyId) && issuerMatches(entry.claims.iss as string)) {
        this.entries.delete(digest);
        dropped++;
      }
    }
    return dropped;
  }

  /** Drops every entry `pred` picks; returns how many. */
  dropWhere(pred: (entry: CachedToken) => boolean): number {
    let dropped = 0;
    for (const [digest, entry] of this.entries) {
      if (pred(entry)) {
        this.entries.delete(digest);
        dropped++;
      }
    }
    return dropped;
  }

  clear(): void {
    this.entries.clear();
  }
}
