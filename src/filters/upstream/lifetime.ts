// How long a long-lived exchange (a relayed WebSocket, a text/event-stream response) may stay open:
// the route's cap, and the caller's credential expiry, so a connection opened with a token does not
// outlive it. One opened with a delegated token is also closed when that token is revoked
// (live-connections.ts).
import type { DelegatedTokenRef } from '../../credentials/types.ts';
import type { RequestContext } from '../../gateway/types.ts';
import { delegatedRef, isDelegated } from '../../identity/cortex-provider.ts';

/** Milliseconds from now until the connection must close (at least 0). */
export function connectionLifetimeMs(ctx: RequestContext): number {
  let ms = ctx.route.maxConnectionLifetimeMs;
  const exp = ctx.identity?.expiresAt;
  if (typeof exp === 'number' && Number.isFinite(exp)) ms = Math.min(ms, exp * 1000 - Date.now());
  return Math.max(0, ms);
}

/** The response is a Server-Sent Events stream (its lifetime is capped). */
export function isEventStream(headers: Record<string, string | string[]>): boolean {
  const ct = headers['content-type'];
  const value = Array.isArray(ct) ? ct[0] : ct;
  return value !== undefined && /^\s*text\/event-stream\s*(?:;|$)/i.test(value);
}

/** The delegated token (Cortex's, an agent acting for a person) the request came with, if any. */
export function delegatedTokenOf(ctx: RequestContext): DelegatedTokenRef | undefined {
  const identity = ctx.identity;
  return identity !== undefined && isDelegated(identity) ? delegatedRef(identity) : undefined;
}
