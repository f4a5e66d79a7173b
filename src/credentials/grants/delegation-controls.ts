// What a person and an operator control about delegation once token exchange is on, gathered for
// the Gateway: the consent page, and the registry of long-lived connections opened with delegated
// tokens, closed as soon as a revocation (here or, with Redis, on another instance) covers them.
import type { SystemAudit } from '../../audit/system-events.ts';
import type { InternalEndpoint, SessionAuthenticator } from '../../identity/authenticator.ts';
import { LiveConnections } from '../../filters/upstream/live-connections.ts';
import type { AgentGrantStore, RevocationStore } from '../types.ts';
import { createConsentEndpoint } from './consent-page.ts';

export interface DelegationControls {
  /** /.cortex/consent */
  readonly consent: InternalEndpoint;
  /** Open WebSockets and event streams by delegated token (given to the upstream filter). */
  readonly connections: LiveConnections;
  close(): void;
}

export interface DelegationControlsDeps {
  session: () => SessionAuthenticator | undefined;
  /** The agent clients of the serving config (credentials.tokenExchange.clients). */
  agents: () => readonly string[];
  now?: () => number;
  /** Records grants given and withdrawn on the consent page. */
  audit?: SystemAudit;
}

export function createDelegationControls(stores: { grants: AgentGrantStore; revocations: RevocationStore }, deps: DelegationControlsDeps): DelegationControls {
  const connections = new LiveConnections();
  const { revocations } = stores;
  const stop = revocations.onRevoke(() => connections.closeWhere((token) => revocations.isRevoked(token)));
  return {
    consent: createConsentEndpoint({ session: deps.session, grants: stores.grants, revocations, agents: deps.agents, ...(deps.now ? { now: deps.now } : {}), ...(deps.audit ? { audit: deps.audit } : {}) }),
    connections,
    close: stop,
  };
}
