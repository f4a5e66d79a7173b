// What a decision is asked and answers, and the identity helpers both the engine and its fast path
// use (its own module, so fast-path.ts need not import engine.ts, which imports it).
import type { Identity } from '../gateway/types.ts';
import type { ResourceAttributes } from './attribute-source.ts';

export interface DecisionRequest {
  identity: Identity;
  intent: string;
  routeId: string;
  tags: readonly string[];
  /** Path parameters; policies read them as the Route's entity tags. */
  params: Readonly<Record<string, string | undefined>>;
  /** Attributes of the object the request names, from the route's attribute source (absent ones are absent). */
  resourceAttributes?: ResourceAttributes;
  stage: string;
  clientIp: string;
  nowMs: number;
}

export interface PolicyDecision {
  allow: boolean;
  /** Ids (@id) of the policies that decided: the permits that allowed, the forbids that denied, the policies that errored; [] for a default deny. */
  policyIds: string[];
  /** 'ok', 'authz.denied' (no permit, or a forbid), 'authz.policy_error' (evaluation failed: deny, always). */
  reason: 'ok' | 'authz.denied' | 'authz.policy_error';
  /** Evaluation errors, for logs and the audit trail (never sent to the caller). */
  errors: string[];
}

const TYPE_OF_KIND: Record<Identity['kind'], string> = { user: 'User', service: 'Service', agent: 'Agent', anonymous: 'Anonymous' };
const MFA_METHODS = new Set(['mfa', 'otp', 'hwk']);

export function uidOf(identity: Identity): { type: string; id: string } {
  return { type: TYPE_OF_KIND[identity.kind], id: identity.fingerprint };
}

/** The amr claim (RFC 8176) names a second factor. */
export function hasMfa(claims: Readonly<Record<string, unknown>>): boolean {
  const amr = claims.amr;
  const values = typeof amr === 'string' ? [amr] : Array.isArray(amr) ? amr : [];
  return values.some((v) => typeof v === 'string' && MFA_METHODS.has(v));
}
