// One OIDC provider's signing keys: discovery, the key set, periodic refresh, and the
// rate-limited refetch a token with an unknown kid may trigger.
import { createLocalJWKSet } from 'jose';
import type { JWK, JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import type { DiscoveryMetadata, KeyRefresh, KeySourceStatus, ProviderKeySource } from '../types.ts';
import { FetchFailure, checkDiscovery, defaultDiscoveryUrl, fetchJson, kidsOf, parseJwks } from './discovery.ts';

export interface ProviderKeysOptions {
  /** May contain '{tenantid}' (Entra multi-tenant); the default discovery URL then uses 'common'. */
  issuer: string;
  /** Default: issuer (no trailing slash) + '/.well-known/openid-configuration'. */
  discoveryUrl?: string;
  /** When set, discovery is still fetched (for introspection_endpoint) but its failure does not block keys. */
  jwksUri?: string;
  refreshIntervalMs: number;
  unknownKeyRefetchMinIntervalMs: number;
  timeoutMs: number;
  log: Logger;
  /** Injectable clock (ms). */
  now?: () => number;
}

export type ProviderKeys = ProviderKeySource & {
  start(): void;
  close(): void;
  /** Called with the kids of every key set accepted, the first one included. */
  onKeySet(listener: (kids: ReadonlySet<string>) => void): void;
};

const FIRST_RETRY_MS = 1_000;

interface KeySet {
  keys: JWK[];
  kids: Set<string>;
  getKey: JWTVerifyGetKey;
}

export function createProviderKeys(opts: ProviderKeysOptions): ProviderKeys {
  const now = opts.now ?? Date.now;
  const log = opts.log.child({ issuer: opts.issuer });
  const discoveryUrl = opts.discoveryUrl ?? defaultDiscoveryUrl(opts.issuer);
  const closer = new AbortController();
  const listeners: ((kids: readonly string[]) => void)[] = [];
  const setListeners: ((kids: ReadonlySet<string>) => void)[] = [];

  let current: KeySet | undefined;
  let meta: DiscoveryMetadata | undefined;
  let inflight: Promise<boolean> | undefined;
  let lastUnknownKidRefetch: number | undefined;
  let lastFetchAt: string | undefined;
  let lastError: string | undefined;
  let fetches = 0;
  let failures = 0;
  let started = false;
  let timer: NodeJS.Timeout | undefined;
  let retryMs = Math.min(FIRST_RETRY_MS, opts.refreshIntervalMs);

  /** Refresh the metadata; the failure's sentence, or undefined on success. */
  async function fetchDiscovery(): Promise<string | undefined> {
    try {
      meta = checkDiscovery(await fetchJson(discoveryUrl, opts.timeoutMs, closer.signal), opts.issuer);
      return undefined;
    } catch (err) {
      const failure = asFailure(err);
      if (!closer.signal.aborted) log.warn({ url: discoveryUrl, ...failure.detail, reason: failure.reason }, 'OIDC discovery failed');
      return `Discovery failed: ${failure.reason}`;
    }
  }

  function accept(keys: JWK[]): void {
    const kids = new Set(kidsOf(keys));
    const removed = current === undefined ? [] : [...current.kids].filter((kid) => !kids.has(kid));
    current = { keys, kids, getKey: createLocalJWKSet({ keys }) };
    notify(setListeners, kids);
    if (removed.length === 0) return;
    log.info({ kids: removed }, 'signing keys left the key set');
    notify(listeners, removed);
  }

  function notify<T>(to: readonly ((value: T) => void)[], value: T): void {
    for (const listener of to) {
      try {
        listener(value);
      } catch (err) {
        log.error({ err }, 'a key set listener threw');
      }
    }
  }

  /** Fetch the key set (after discovery when needed); true when a new set was accepted. */
  async function refresh(withDiscovery: boolean): Promise<boolean> {
    const discoveryError = withDiscovery || (opts.jwksUri === undefined && meta === undefined) ? await fetchDiscovery() : undefined;
    // After a failed discovery the last accepted document's jwks_uri still stands.
    const jwksUri = opts.jwksUri ?? meta?.jwks_uri;
    if (closer.signal.aborted) return false;
    fetches += 1;
    if (jwksUri === undefined) {
      failures += 1;
      lastError = discoveryError ?? 'Discovery failed: The discovery document names no jwks_uri.';
      return false;
    }
    try {
      const parsed = parseJwks(await fetchJson(jwksUri, opts.timeoutMs, closer.signal));
      if (closer.signal.aborted) return false;
      for (const drop of parsed.dropped) {
        if (drop.reason === 'private_key') log.error({ url: jwksUri, ...drop }, 'the key set publishes private key material; that key is ignored');
        else log.warn({ url: jwksUri, ...drop }, 'a key in the key set was ignored');
      }
      if (!parsed.ok) throw new FetchFailure(parsed.error);
      accept(parsed.keys);
      lastFetchAt = new Date(now()).toISOString();
      lastError = discoveryError;
      return true;
    } catch (err) {
      if (closer.signal.aborted) return false;
      const failure = asFailure(err);
      failures += 1;
      lastError = `Key set fetch failed: ${failure.reason}`;
      log.warn({ url: jwksUri, ...failure.detail, reason: failure.reason, keptKeys: current?.keys.length ?? 0 }, 'OIDC key set fetch failed; keeping the last good key set');
      return false;
    }
  }

  function singleFlight(withDiscovery: boolean): Promise<boolean> {
    inflight ??= refresh(withDiscovery)
      .catch((err: unknown) => {
        log.error({ err }, 'OIDC key refresh failed unexpectedly');
        return false;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  function schedule(delayMs: number): void {
    if (closer.signal.aborted) return;
    timer = setTimeout(() => void cycle(), delayMs);
    timer.unref();
  }

  async function cycle(): Promise<void> {
    await singleFlight(true);
    if (current !== undefined) {
      schedule(opts.refreshIntervalMs);
    } else {
      schedule(retryMs);
      retryMs = Math.min(retryMs * 2, opts.refreshIntervalMs);
    }
  }

  return {
    start() {
      if (started || closer.signal.aborted) return;
      started = true;
      void cycle();
    },
    close() {
      clearTimeout(timer);
      closer.abort();
    },
    ready: () => current !== undefined,
    getKey: () => current?.getKey,
    hasKid: (kid) => current?.kids.has(kid) ?? false,
    metadata: () => meta,
    async refreshForUnknownKid(kid): Promise<KeyRefresh> {
      if (closer.signal.aborted) return 'failed';
      if (current?.kids.has(kid)) return 'refreshed';
      let pending = inflight;
      if (pending === undefined) {
        const t = now();
        if (lastUnknownKidRefetch !== undefined && t - lastUnknownKidRefetch < opts.unknownKeyRefetchMinIntervalMs) return 'rate_limited';
        lastUnknownKidRefetch = t;
        pending = singleFlight(false);
      }
      const accepted = await pending;
      if (!accepted) return 'failed';
      return current?.kids.has(kid) ? 'refreshed' : 'unchanged';
    },
    onKeysRemoved(listener) {
      listeners.push(listener);
    },
    onKeySet(listener) {
      setListeners.push(listener);
    },
    status(): KeySourceStatus {
      return {
        keys: current?.keys.length ?? 0,
        kids: current === undefined ? [] : [...current.kids],
        lastFetchAt,
        lastError,
        fetches,
        failures,
      };
    },
  };
}

function asFailure(err: unknown): FetchFailure {
  return err instanceof FetchFailure ? err : new FetchFailure('The response could not be processed.');
}
