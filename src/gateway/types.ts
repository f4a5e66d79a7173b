// The data plane's core contracts (DESIGN.md §4). Filters are created once per snapshot;
// onRequest runs in chain order, onResponse in reverse, onComplete always and never throws.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ReasonCode } from './reason-codes.ts';

export interface LocalReply {
  status?: number; // defaults to the code's status
  code: ReasonCode;
  detail?: string;
  headers?: Record<string, string>;
}

export type FilterResult = { action: 'continue' } | { action: 'reply'; reply: LocalReply } | { action: 'handled' };

export const CONTINUE: FilterResult = Object.freeze({ action: 'continue' });

export interface Identity {
  /** The caller: a person's subject, a service's client id, an agent's client id, or 'anonymous'. */
  readonly subject: string;
  readonly issuer: string;
  /** The configured provider name (identity.providers.<name>), or 'none' for the anonymous identity. */
  readonly provider: string;
  readonly kind: 'user' | 'service' | 'agent' | 'anonymous';
  /** For an agent acting for a person: that person (kind 'user', with the roles their token grants). */
  readonly onBehalfOf?: Identity;
  readonly method: 'jwt' | 'introspection' | 'session' | 'api_key' | 'mtls' | 'none';
  readonly roles: readonly string[];
  readonly claims: Readonly<Record<string, unknown>>;
  /** Stable digest of issuer, subject, on-behalf-of subject and method (identity/fingerprint.ts). */
  readonly fingerprint: string;
  /** The signing key's id, recorded beside the fingerprint (not part of it). */
  readonly keyId?: string;
  /** When the credential expires, epoch seconds. */
  readonly expiresAt?: number;
}

export interface Decision {
  allow: boolean;
  mode: 'enforce' | 'shadow';
  policyIds: string[];
  reason: string;
  intent?: string;
}

/** What the request looked like once the gateway accepted it: parsed once, read by every filter. */
export interface GatewayRequest {
  readonly method: string;
  /** Normalized path: the one routing and policy decide on. */
  readonly path: string;
  /** Raw query string without '?', or '' (never normalized, never matched by rules). */
  readonly query: string;
  /** Host without port, lower-cased: what routing matches. */
  readonly host: string;
  /** The Host header as the client sent it. */
  readonly hostHeader: string;
  /** The socket's peer address. */
  readonly peer: string;
  /** The client's address: the peer, or the nearest untrusted hop named by trusted proxies. */
  readonly clientIp: string;
  /** Incoming forwarding headers (x-forwarded-*, forwarded); used only when trustedPeer. */
  readonly forwardedIn: Readonly<Record<string, string>> | undefined;
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly hasBody: boolean;
  readonly contentLength: number | undefined;
  /** True when the client's own X-Forwarded-* were trusted (peer is a trusted proxy). */
  readonly trustedPeer: boolean;
  readonly protocol: 'http' | 'https';
}

export interface Outcome {
  status: number;
  code: ReasonCode;
  /** Path sent upstream, after the route's rewrite; undefined when nothing was sent. */
  upstreamPath?: string;
  upstreamStatus?: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  upstreamMs?: number;
}

export interface RequestContext {
  readonly id: string;
  readonly requestIdHeader: string;
  readonly startedAt: number; // performance.now()
  readonly time: number; // Date.now() at start
  readonly snapshot: unknown; // the Snapshot the request started with (typed in snapshot.ts)
  readonly route: CompiledRoute;
  readonly request: GatewayRequest;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly log: Logger;
  /** Headers to send upstream; filters add or remove before the terminal filter runs. */
  readonly upstreamHeaders: Record<string, string | string[]>;
  upstreamPath: string;
  identity?: Identity;
  decision?: Decision;
  outcome: Outcome;
  /**
   * Set for a WebSocket upgrade request (the listener's 'upgrade' event): the terminal filter then
   * asks the upstream to switch protocols and relays the client's raw socket. `res` is a response
   * bound to that socket, used for any reply that is not a 101.
   */
  upgrade: UpgradeState | undefined;
}

export interface UpgradeState {
  /** The client's connection, detached from the HTTP parser. */
  readonly socket: Socket;
  /** True once the 101 was written to the client: the exchange is now a relayed WebSocket. */
  switched: boolean;
}

/** A route as compiled into a snapshot: its filters are built once, not per request. */
export interface CompiledRoute {
  readonly id: string;
  readonly upstream: string;
  /** Bitmask of AMBIGUITY flags (normalize.ts) the route accepts. */
  readonly allowAmbiguity: number;
  readonly allowMethodOverride: boolean;
  readonly allowOriginalUrl: boolean;
  /** Largest request body in bytes; 0 = no limit. */
  readonly maxBodyBytes: number;
  /** Accepts WebSocket upgrades. */
  readonly websocket: boolean;
  /** Longest a WebSocket or an event stream stays open (see filters/upstream/lifetime.ts). */
  readonly maxConnectionLifetimeMs: number;
  readonly rewrite: ((path: string, params: Readonly<Record<string, string | undefined>>) => string) | undefined;
  readonly chain: readonly HttpFilter[];
  /** Filters with onResponse, in reverse chain order. */
  readonly responseFilters: readonly HttpFilter[];
  readonly completeFilters: readonly HttpFilter[];
}

export interface HttpFilter {
  readonly name: string;
  onRequest?(ctx: RequestContext): FilterResult | Promise<FilterResult>;
  onResponse?(ctx: RequestContext, status: number, headers: Record<string, string | string[]>): void;
  onComplete?(ctx: RequestContext): void;
}
