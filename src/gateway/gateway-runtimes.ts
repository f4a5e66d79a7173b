// The long-lived runtimes a Gateway owns beside its snapshots: identity providers' key sets, the
// signing key ring, token exchange with its delegation controls, upstream secrets and the imported
// APIs. Built once from the config at start (a change to most of them takes a restart), released
// per snapshot generation, and closed in order when the gateway drains.
import type { Logger } from 'pino';
import type { SystemAudit } from '../audit/system-events.ts';
import type { Config } from '../config/schema.ts';
import { TokenExchangeRuntime } from '../credentials/exchange/exchange-runtime.ts';
import { createDelegationControls } from '../credentials/grants/delegation-controls.ts';
import type { DelegationControls } from '../credentials/grants/delegation-controls.ts';
import { CredentialsRuntime } from '../credentials/runtime.ts';
import { UpstreamCredentialsRuntime } from '../credentials/upstream-secrets/runtime.ts';
import type { InternalEndpoint, SessionAuthenticator } from '../identity/authenticator.ts';
import type { CompiledProvider } from '../identity/provider.ts';
import { IdentityRuntime } from '../identity/runtime.ts';
import { ApiRuntime } from '../intents/runtime.ts';
import type { Snapshot } from './snapshot.ts';

export interface GatewayRuntimeDeps {
  log: Logger;
  audit: SystemAudit;
  /** The clock of the signing key ring and of assertion lifetimes (tests move it). */
  now?: () => number;
  /** The snapshot serving now: token exchange checks its clients and providers against it. */
  world: () => Snapshot;
  /** The browser-session authenticator the consent page signs people in with. */
  session: () => SessionAuthenticator | undefined;
  /** An imported API's document (or its approved intents) changed. */
  onApisChange: () => void;
}

export class GatewayRuntimes {
  /** Identity providers' key sets and the verified-token cache, kept across reloads. */
  readonly identity: IdentityRuntime;
  /** The signing key ring (opened once; listen() waits for it), the assertions it signs, its JWKS. */
  readonly credentials: CredentialsRuntime;
  /** RFC 8693 token exchange (/.cortex/token), its consent and revocation stores; only with credentials.tokenExchange (a restart applies a change). */
  readonly exchange: TokenExchangeRuntime | undefined;
  /** With token exchange: the consent page, and the open connections a revocation closes. */
  readonly delegation: DelegationControls | undefined;
  /** Upstream secrets (watched files, OAuth2 tokens), kept across reloads like the pools. */
  readonly upstreamCredentials: UpstreamCredentialsRuntime;
  /** The imported APIs' documents (apis), refreshed while the gateway runs; a change rebuilds the snapshot. */
  readonly apis: ApiRuntime;

  constructor(config: Config, deps: GatewayRuntimeDeps) {
    const { log, audit } = deps;
    this.identity = new IdentityRuntime({ log });
    this.credentials = new CredentialsRuntime(config, { log, audit, ...(deps.now ? { now: deps.now } : {}) });
    this.upstreamCredentials = new UpstreamCredentialsRuntime({ log });
    this.exchange =
      config.credentials.tokenExchange === undefined
        ? undefined
        : new TokenExchangeRuntime(config, { log, signing: this.credentials, world: deps.world, bearer: this.identity, now: this.credentials.now });
    if (this.exchange !== undefined) this.identity.refuse = (identity) => this.exchange?.refuse(identity);
    this.delegation =
      this.exchange &&
      createDelegationControls(this.exchange, {
        session: deps.session,
        agents: () => Object.keys(deps.world().config.credentials.tokenExchange?.clients ?? {}),
        now: this.credentials.now, audit,
      });
    this.apis = new ApiRuntime({ log, onChange: deps.onApisChange, audit });
  }

  /** Resolves once the signing keys and the token exchange's stores are open. */
  async ready(): Promise<void> {
    await Promise.all([this.exchange?.ready(), this.credentials.ready()]);
  }

  /** The /.cortex/ endpoints these runtimes serve: JWKS and discovery, token exchange, consent. */
  endpoints(): InternalEndpoint[] {
    return [...this.credentials.endpoints, ...(this.exchange === undefined ? [] : [this.exchange.endpoint]), ...(this.delegation === undefined ? [] : [this.delegation.consent])];
  }

  /** The identity providers of a snapshot generation; with token exchange, Cortex's own delegated tokens are accepted like any provider's (provider `cortex`). */
  providers(config: Config, generation: number): ReadonlyMap<string, CompiledProvider> {
    const providers = this.identity.compile(config.identity, generation);
    return this.exchange?.withCortexProvider(config, providers) ?? providers;
  }

  /** Lets go of what only this snapshot generation used (key sets, upstream secrets). */
  release(generation: number): void {
    this.identity.release(generation);
    this.upstreamCredentials.release(generation);
  }

  /** The imported APIs stop refreshing at the start of a drain (apis.close()); the rest close here, last. */
  async close(): Promise<void> {
    this.identity.close();
    await this.credentials.close();
    this.delegation?.close();
    await this.exchange?.close();
    this.upstreamCredentials.close();
  }
}
