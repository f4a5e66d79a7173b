// The in-memory picture of revocations that isRevoked reads synchronously: revoked jtis (each
// forgotten once its token has expired) and, per agent, per person and per grant (a person and an
// agent), the time before which every delegated token they appear in is revoked. Both stores keep one; Redis fills it from its keys and
// its channel.
import type { DelegatedTokenRef, Revocation } from '../../credentials/types.ts';

/**
 * How long an agent's or a person's "revoked before" stays meaningful: no delegated token lives
 * longer than credentials.tokenExchange.lifetimeSeconds allows (at most an hour), so one issued
 * before `at` has expired an hour after it.
 */
export const LONGEST_DELEGATED_TOKEN_SECONDS = 3600;

/** The key of a person in the mirror (and in Redis): unambiguous for any issuer and subject. */
export function personKey(issuer: string, subject: string): string {
  return JSON.stringify([issuer, subject]);
}

/** The key of a person's grant to an agent. */
export function grantKey(issuer: string, subject: string, agent: string): string {
  return JSON.stringify([issuer, subject, agent]);
}

/** `at` for "every token issued until now": the end of the current second, since iat has whole seconds. */
export function revokedBeforeNow(nowMs: number): number {
  return Math.ceil(nowMs / 1000);
}

export class RevocationMirror {
  private readonly jtis = new Map<string, number>();
  private readonly agents = new Map<string, number>();
  private readonly persons = new Map<string, number>();
  private readonly grants = new Map<string, number>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  isRevoked(token: DelegatedTokenRef): boolean {
    const exp = this.jtis.get(token.jti);
    if (exp !== undefined && exp * 1000 > this.now()) return true;
    const agentAt = this.agents.get(token.agent);
    if (agentAt !== undefined && token.iat < agentAt) return true;
    const personAt = this.persons.get(personKey(token.issuer, token.subject));
    if (personAt !== undefined && token.iat < personAt) return true;
    if (this.grants.size === 0) return false;
    const grantAt = this.grants.get(grantKey(token.issuer, token.subject, token.agent));
    return grantAt !== undefined && token.iat < grantAt;
  }

  /** Records a revocation; false when it changes nothing (already known, or already expired). */
  apply(r: Revocation): boolean {
    const nowSeconds = this.now() / 1000;
    switch (r.kind) {
      case 'jti':
        if (r.exp <= nowSeconds || (this.jtis.get(r.jti) ?? -Infinity) >= r.exp) return false;
        this.jtis.set(r.jti, r.exp);
        return true;
      case 'agent':
        return raise(this.agents, r.agent, r.at, nowSeconds);
      case 'person':
        return raise(this.persons, personKey(r.issuer, r.subject), r.at, nowSeconds);
      case 'grant':
        return raise(this.grants, grantKey(r.issuer, r.subject, r.agent), r.at, nowSeconds);
    }
  }

  /** Drops what can no longer revoke anything: jtis past their exp, "before" times older than any live token. */
  sweep(): void {
    const nowSeconds = this.now() / 1000;
    for (const [jti, exp] of this.jtis) if (exp <= nowSeconds) this.jtis.delete(jti);
    for (const map of [this.agents, this.persons, this.grants]) {
      for (const [key, at] of map) if (at + LONGEST_DELEGATED_TOKEN_SECONDS <= nowSeconds) map.delete(key);
    }
  }

  clear(): void {
    this.jtis.clear();
    this.agents.clear();
    this.persons.clear();
    this.grants.clear();
  }

  get size(): number {
    return this.jtis.size + this.agents.size + this.persons.size + this.grants.size;
  }
}

/** Keeps the latest "revoked before" time of a key. */
function raise(map: Map<string, number>, key: string, at: number, nowSeconds: number): boolean {
  if (at + LONGEST_DELEGATED_TOKEN_SECONDS <= nowSeconds || (map.get(key) ?? -Infinity) >= at) return false;
  map.set(key, at);
  return true;
}

/** The listeners of onRevoke: each called once per revocation, a throwing one not stopping the rest. */
export class RevokeListeners {
  private readonly listeners = new Set<(r: Revocation) => void>();
  private readonly onError: (err: unknown) => void;

  constructor(onError: (err: unknown) => void) {
    this.onError = onError;
  }

  add(listener: (r: Revocation) => void): () => void {
    const entry = (r: Revocation): void => listener(r);
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  emit(r: Revocation): void {
    for (const l of this.listeners) {
      try {
        l(r);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
