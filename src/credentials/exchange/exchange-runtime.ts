// The token exchange as the Gateway owns it (only when credentials.tokenExchange is configured):
// the grants (consent) and revocation stores, the /.cortex/token endpoint, the built-in `cortex`
// provider that accepts the delegated tokens, and the revocation check every such request passes.
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { Identity } from '../../gateway/types.ts';
import type { InternalEndpoint } from '../../identity/authenticator.ts';
import type { BearerDeps } from '../../identity/bearer.ts';
import { agentRolesOf, compileCortexProvider, delegatedRef, isDelegated } from '../../identity/cortex-provider.ts';
import type { CortexKeys } from '../../identity/cortex-provider.ts';
import type { CompiledProvider } from '../../identity/provider.ts';
import { authnFailure } from '../../identity/types.ts';
import type { AuthnFailure } from '../../identity/types.ts';
import { openRevocationStore } from '../../stores/revocations/open-revocation-store.ts';
import { openAgentGrantStore } from '../grants/open-grant-store.ts';
import type { ActiveSigner, AgentGrantStore, RevocationStore } from '../types.ts';
import { createTokenEndpoint } from './endpoint.ts';
import type { ExchangeWorld } from './exchange.ts';

/** What the exchange needs of the credentials runtime: the ring (once open) and the issuer. */
export interface SigningSource {
  ring: (CortexKeys & { signer(): ActiveSigner }) | undefined;
  issuer(config: Config): string;
}

export interface TokenExchangeRuntimeOptions {
  log: Logger;
  signing: SigningSource;
  /** The serving snapshot's config and providers. */
  world(): ExchangeWorld;
  bearer: BearerDeps;
  now?: () => number;
  /** Stores given by tests; opened from the config otherwise. */
  grants?: AgentGrantStore;
  revocations?: RevocationStore;
}

export class TokenExchangeRuntime {
  readonly grants: AgentGrantStore;
  readonly revocations: RevocationStore;
  readonly endpoint: InternalEndpoint;
  private readonly opts: TokenExchangeRuntimeOptions;

  constructor(config: Config, opts: TokenExchangeRuntimeOptions) {
    const cfg = config.credentials.tokenExchange;
    if (cfg === undefined) throw new Error('credentials.tokenExchange is not configured');
    this.opts = opts;
    const log = opts.log.child({ component: 'token-exchange' });
    this.grants = opts.grants ?? openAgentGrantStore(cfg.grants, { log });
    this.revocations = opts.revocations ?? openRevocationStore(cfg.revocations, { log, ...(opts.now === undefined ? {} : { now: opts.now }) });
    const now = opts.now ?? Date.now;
    this.endpoint = createTokenEndpoint({
      world: () => opts.world(),
      issuer: () => opts.signing.issuer(opts.world().config),
      signer: () => {
        const ring = opts.signing.ring;
        if (ring === undefined) throw new Error('the signing keys are not open yet');
        return ring.signer();
      },
      grants: this.grants,
      bearer: opts.bearer,
      now,
    });
  }

  ready(): Promise<void> {
    return Promise.all([this.grants.ready(), this.revocations.ready()]).then(() => undefined);
  }

  /** The providers of a snapshot plus `cortex`, whose keys are the ring's (none before the ring opens). */
  withCortexProvider(config: Config, providers: ReadonlyMap<string, CompiledProvider>): ReadonlyMap<string, CompiledProvider> {
    const cfg = config.credentials.tokenExchange;
    if (cfg === undefined) return providers;
    const signing = this.opts.signing;
    const ring: CortexKeys = {
      jwks: () => signing.ring?.jwks() ?? { keys: [] },
      publicKey: (kid) => signing.ring?.publicKey(kid),
    };
    const out = new Map(providers);
    out.set(
      'cortex',
      compileCortexProvider({ issuer: () => signing.issuer(config), audience: cfg.audience, ring, agents: agentRolesOf(providers), maxLifetimeSeconds: cfg.lifetimeSeconds + 60 }),
    );
    return out;
  }

  /** A delegated token that was revoked (by jti, agent or person) is refused, cached or not. */
  refuse(identity: Identity): AuthnFailure | undefined {
    if (!isDelegated(identity)) return undefined;
    if (!this.revocations.isRevoked(delegatedRef(identity))) return undefined;
    return authnFailure('authn.token_revoked', 'This delegated token has been revoked.');
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.grants.close(), this.revocations.close()]);
  }
}
