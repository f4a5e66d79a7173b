// Who is asking for the exchange: the agent client, by its secret (client_secret_basic or
// client_secret_post, compared in constant time over digests) or by an actor_token its own
// identity provider issued to it. Failed attempts are limited per client id by a token bucket
// kept in this process's memory (a fleet limits per instance).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../../config/schema.ts';
import type { ExchangeError } from './request.ts';
import { exchangeError } from './request.ts';
import type { ExchangeRequest } from './request.ts';

type Clients = NonNullable<Config['credentials']['tokenExchange']>['clients'];

export type ClientAuth = { ok: true; clientId: string; method: 'client_secret_basic' | 'client_secret_post' | 'actor_token' } | { ok: false; error: ExchangeError; clientId?: string };

/** Verifies an actor token through the identity plane: the client id it was issued to, its provider, and whether it is the client's own token. */
export type ActorVerifier = (token: string) => Promise<{ ok: true; clientId: string | undefined; provider: string; forItself: boolean } | { ok: false }>;

const BASIC_CHALLENGE = { 'www-authenticate': 'Basic realm="cortex-token", charset="UTF-8"' };

function invalidClient(description: string, clientId?: string): ClientAuth {
  return { ok: false, error: exchangeError('invalid_client', description, BASIC_CHALLENGE), ...(clientId === undefined ? {} : { clientId }) };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export function secretsEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** RFC 6749 §2.3.1: the id and secret are form-urlencoded before they are joined with ':'. */
export function parseBasic(header: string): { id: string; secret: string } | undefined {
  const space = header.indexOf(' ');
  if (space === -1 || header.slice(0, space).toLowerCase() !== 'basic') return undefined;
  const raw = Buffer.from(header.slice(space + 1).trim(), 'base64').toString('utf8');
  const colon = raw.indexOf(':');
  if (colon === -1) return undefined;
  try {
    const decode = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));
    return { id: decode(raw.slice(0, colon)), secret: decode(raw.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

export async function authenticateClient(
  authorization: string | undefined,
  request: ExchangeRequest,
  clients: Clients,
  verifyActor: ActorVerifier,
): Promise<ClientAuth> {
  const basic = authorization === undefined ? undefined : parseBasic(authorization);
  if (authorization !== undefined && basic === undefined) return invalidClient('The Authorization header must be Basic client credentials.');
  const methods = [basic !== undefined, request.clientSecret !== undefined, request.actorToken !== undefined].filter(Boolean).length;
  if (methods > 1) return { ok: false, error: exchangeError('invalid_request', 'Use one way of authenticating the client.') };
  if (basic !== undefined || request.clientSecret !== undefined) {
    const id = basic?.id ?? request.clientId;
    const secret = basic?.secret ?? request.clientSecret ?? '';
    if (id === undefined || id === '') return invalidClient('client_id is missing.');
    if (basic !== undefined && request.clientId !== undefined && request.clientId !== id) return { ok: false, error: exchangeError('invalid_request', 'client_id disagrees with the Authorization header.') };
    const client = Object.hasOwn(clients, id) ? clients[id] : undefined;
    // Compared even for an unknown client, so the answer takes as long either way.
    const matches = secretsEqual(secret, client?.secret ?? 'x'.repeat(32));
    if (client?.secret === undefined || !matches) return invalidClient('Client authentication failed.', id);
    return { ok: true, clientId: id, method: basic !== undefined ? 'client_secret_basic' : 'client_secret_post' };
  }
  if (request.actorToken !== undefined) {
    const actor = await verifyActor(request.actorToken);
    if (!actor.ok || actor.clientId === undefined || !actor.forItself) return invalidClient('The actor token does not authenticate an agent client.', request.clientId);
    const id = actor.clientId;
    if (request.clientId !== undefined && request.clientId !== id) return invalidClient('The actor token was issued to another client.', request.clientId);
    const client = Object.hasOwn(clients, id) ? clients[id] : undefined;
    if (client?.provider === undefined || client.provider !== actor.provider) return invalidClient('This client does not authenticate with actor tokens from that provider.', id);
    return { ok: true, clientId: id, method: 'actor_token' };
  }
  return invalidClient('Client authentication is missing (Basic, client_secret, or actor_token).', request.clientId);
}

/** Failed authentications per client id: `capacity` at once, then one per `refillMs`. */
export class FailureLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly capacity: number;
  private readonly refillMs: number;
  private readonly maxClients: number;

  constructor(opts: { capacity?: number; refillMs?: number; maxClients?: number } = {}) {
    this.capacity = opts.capacity ?? 10;
    this.refillMs = opts.refillMs ?? 6_000;
    this.maxClients = opts.maxClients ?? 10_000;
  }

  /** True while this client may try again. */
  allows(clientId: string, nowMs: number): boolean {
    const b = this.buckets.get(clientId);
    return b === undefined || this.level(b, nowMs) >= 1;
  }

  fail(clientId: string, nowMs: number): void {
    let b = this.buckets.get(clientId);
    if (b === undefined) {
      if (this.buckets.size >= this.maxClients) this.buckets.delete(this.buckets.keys().next().value as string);
      b = { tokens: this.capacity, at: nowMs };
      this.buckets.set(clientId, b);
    }
    b.tokens = Math.max(0, this.level(b, nowMs) - 1);
    b.at = nowMs;
  }

  private level(b: { tokens: number; at: number }, nowMs: number): number {
    return Math.min(this.capacity, b.tokens + (nowMs - b.at) / this.refillMs);
  }
}
