// The identity plane's long-lived state, owned by the Gateway: each provider's key set and
// introspection client (kept across reloads while their settings are unchanged, like upstream
// pools) and the cache of verified tokens. Snapshots compile providers against it.
import type { Logger } from 'pino';
import type { IdentityConfig, ProviderConfig } from '../config/schema-identity.ts';
import { createGoogleTokenInfoIntrospector } from './introspection/google-tokeninfo.ts';
import { createRfc7662Introspector } from './introspection/rfc7662.ts';
import { createProviderKeys } from './keys/provider-keys.ts';
import type { ProviderKeys } from './keys/provider-keys.ts';
import { GOOGLE_TOKENINFO_ENDPOINT, PRESETS } from './presets.ts';
import { compileProvider, issuerMatcher } from './provider.ts';
import type { CompiledProvider } from './provider.ts';
import type { BearerDeps } from './bearer.ts';
import { TokenCache } from './token-cache.ts';
import type { KeySourceStatus, TokenIntrospector } from './types.ts';

type KeySource = ProviderKeys;

interface Held<T> {
  readonly value: T;
  readonly generations: Set<number>;
}

export interface IdentityRuntimeOptions {
  log: Logger;
  now?: () => number;
}

export class IdentityRuntime {
  readonly cache: TokenCache;
  readonly now: () => number;
  /** Set by the token exchange: refuses revoked delegated tokens after the cache (see bearer.ts). */
  refuse: BearerDeps['refuse'];
  private readonly log: Logger;
  private readonly keySources = new Map<string, Held<KeySource> & { names: Set<string> }>();
  private readonly introspectors = new Map<string, Held<{ get: () => TokenIntrospector | undefined; close: () => void }>>();

  constructor(opts: IdentityRuntimeOptions) {
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    this.cache = new TokenCache(100_000);
  }

  /** Compiles every configured provider for a snapshot of this generation. */
  compile(config: IdentityConfig, generation: number): Map<string, CompiledProvider> {
    this.cache.resize(config.tokenCache.maxEntries);
    const out = new Map<string, CompiledProvider>();
    for (const [name, cfg] of Object.entries(config.providers)) {
      const keys = this.acquireKeys(name, cfg, generation);
      const introspector = cfg.introspection === undefined ? undefined : this.acquireIntrospector(name, cfg, keys, generation);
      out.set(name, compileProvider(name, cfg, { keys, introspector }));
    }
    this.forgetTokensCheckedOtherwise(out);
    return out;
  }

  /**
   * A cache hit re-derives the identity under the current provider but does not check the token
   * again: tokens verified under other rules (algorithms, token type, lifetime, issuer...) go.
   */
  private forgetTokensCheckedOtherwise(next: ReadonlyMap<string, CompiledProvider>): void {
    const dropped = this.cache.dropWhere((entry) => {
      const current = next.get(entry.provider.name);
      return current === undefined || current.rules !== entry.provider.rules;
    });
    if (dropped > 0) this.log.info({ dropped }, 'cached tokens checked under changed provider rules are dropped');
  }

  /** Drops what no snapshot of a live generation uses any more. */
  release(generation: number): void {
    for (const [key, held] of this.keySources) {
      held.generations.delete(generation);
      if (held.generations.size === 0) {
        held.value.close();
        this.keySources.delete(key);
      }
    }
    for (const [key, held] of this.introspectors) {
      held.generations.delete(generation);
      if (held.generations.size === 0) {
        held.value.close();
        this.introspectors.delete(key);
      }
    }
  }

  /** Ready when every provider has a key set (a gateway started while its IdP is down is not). */
  ready(): boolean {
    for (const held of this.keySources.values()) if (!held.value.ready()) return false;
    return true;
  }

  status(): Record<string, KeySourceStatus & { ready: boolean }> {
    const out: Record<string, KeySourceStatus & { ready: boolean }> = {};
    for (const held of this.keySources.values()) {
      for (const name of held.names) out[name] = { ...held.value.status(), ready: held.value.ready() };
    }
    return out;
  }

  close(): void {
    for (const held of this.keySources.values()) held.value.close();
    for (const held of this.introspectors.values()) held.value.close();
    this.keySources.clear();
    this.introspectors.clear();
    this.cache.clear();
  }

  private acquireKeys(name: string, cfg: ProviderConfig, generation: number): KeySource {
    const settings = { issuer: cfg.issuer, discoveryUrl: cfg.discoveryUrl, jwksUri: cfg.jwksUri, keys: cfg.keys };
    const key = JSON.stringify(settings);
    let held = this.keySources.get(key);
    if (held === undefined) {
      const source = createProviderKeys({
        issuer: cfg.issuer,
        discoveryUrl: cfg.discoveryUrl,
        jwksUri: cfg.jwksUri,
        refreshIntervalMs: cfg.keys.refreshIntervalMs,
        unknownKeyRefetchMinIntervalMs: cfg.keys.unknownKeyRefetchMinIntervalMs,
        timeoutMs: cfg.keys.timeoutMs,
        log: this.log.child({ provider: name }),
        now: this.now,
      });
      const matches = issuerMatcher(cfg.issuer, cfg.tenants);
      // Every accepted set, not only removals: a source built by a reload starts with no set to compare against.
      source.onKeySet((kids) => {
        const dropped = this.cache.dropKeysNotIn(matches, kids);
        if (dropped > 0) this.log.info({ provider: name, kids: [...kids], dropped }, 'cached tokens signed by keys outside the provider key set are dropped');
      });
      source.start();
      held = { value: source, generations: new Set(), names: new Set() };
      this.keySources.set(key, held);
    }
    held.generations.add(generation);
    held.names.add(name);
    return held.value;
  }

  private acquireIntrospector(name: string, cfg: ProviderConfig, keys: KeySource, generation: number): () => TokenIntrospector | undefined {
    const ic = cfg.introspection;
    if (ic === undefined) return () => undefined;
    const key = JSON.stringify({ issuer: cfg.issuer, preset: cfg.preset, ic });
    let held = this.introspectors.get(key);
    if (held === undefined) {
      let made: TokenIntrospector | undefined;
      const log = this.log.child({ provider: name });
      const get = (): TokenIntrospector | undefined => {
        if (made !== undefined) return made;
        const common = { issuer: cfg.issuer, maxCacheSeconds: ic.maxCacheSeconds, timeoutMs: ic.timeoutMs, maxInFlight: ic.maxInFlight, now: this.now, log };
        if (PRESETS[cfg.preset].opaque === 'google-tokeninfo') {
          made = createGoogleTokenInfoIntrospector({ ...common, endpoint: ic.endpoint ?? GOOGLE_TOKENINFO_ENDPOINT });
          return made;
        }
        // The endpoint comes from config or, once fetched, from discovery.
        const endpoint = ic.endpoint ?? keys.metadata()?.introspection_endpoint;
        if (endpoint === undefined) return undefined;
        if (ic.clientId === undefined || ic.clientSecret === undefined) return undefined; // refused by checkIdentity
        made = createRfc7662Introspector({ ...common, endpoint, clientId: ic.clientId, clientSecret: ic.clientSecret });
        return made;
      };
      held = { value: { get, close: () => made?.close() }, generations: new Set() };
      this.introspectors.set(key, held);
    }
    held.generations.add(generation);
    return held.value.get;
  }
}
