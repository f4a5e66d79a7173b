// authz: decides ctx.identity's request against the snapshot's Cedar policies (policy/engine.ts)
// and sets ctx.decision. A deny is 403 authz.denied naming the intent that was missing (never the
// policy text); in shadow mode the decision is recorded and the request goes on. A route with an
// attribute source looks the object's attributes up first (the filter is async only there); a
// failed lookup denies with authz.attribute_unavailable.
import type { AttributeSource, ResourceAttributes } from '../../policy/attribute-source.ts';
import type { PolicyEngine } from '../../policy/engine.ts';
import { CONTINUE } from '../../gateway/types.ts';
import { delegatedScope, isDelegated } from '../../identity/cortex-provider.ts';
import type { FilterResult, HttpFilter, Identity, RequestContext } from '../../gateway/types.ts';

export interface AuthzRoute {
  readonly intent: string | undefined;
  readonly tags: readonly string[];
  readonly mode: 'enforce' | 'shadow';
  readonly stage: string;
  /** Where the attributes of the object the request names come from (resource.owner). */
  readonly attributes?: AttributeSource;
}

export interface AuthzObserver {
  /** `seconds`: from the filter's start to the decision, attribute lookup included. */
  (route: string, intent: string, result: 'allow' | 'deny' | 'shadow_deny' | 'error' | 'no_intent', seconds?: number): void;
}

export function createAuthzFilter(engine: PolicyEngine, route: AuthzRoute, observe?: AuthzObserver): HttpFilter {
  const since = (t0: number): number => (performance.now() - t0) / 1000;
  const decide = (ctx: RequestContext, identity: Identity, intent: string, t0: number, resourceAttributes?: ResourceAttributes): FilterResult => {
    // A delegated token (token exchange) carries only the intents in its scope, whatever the policies say.
    if (isDelegated(identity) && !delegatedScope(identity).includes(intent)) return outOfScope(ctx, identity, intent, t0);
    const d = engine.decide({
      identity,
      intent,
      routeId: ctx.route.id,
      tags: route.tags,
      params: ctx.request.params,
      ...(resourceAttributes ? { resourceAttributes } : {}),
      stage: route.stage,
      clientIp: ctx.request.clientIp,
      nowMs: ctx.time,
    });
    ctx.decision = { allow: d.allow, mode: route.mode, policyIds: d.policyIds, reason: d.reason, intent };
    if (d.errors.length > 0) ctx.log.error({ route: ctx.route.id, intent, errors: d.errors }, 'a policy failed to evaluate: denied');
    if (d.allow) {
      observe?.(ctx.route.id, intent, 'allow', since(t0));
      return CONTINUE;
    }
    if (route.mode === 'shadow') {
      observe?.(ctx.route.id, intent, 'shadow_deny', since(t0));
      return CONTINUE;
    }
    observe?.(ctx.route.id, intent, d.reason === 'authz.policy_error' ? 'error' : 'deny', since(t0));
    const who = identity.kind === 'anonymous' ? 'an anonymous caller' : `${identity.subject} (${identity.kind})`;
    return {
      action: 'reply',
      reply: { code: d.reason === 'authz.policy_error' ? 'authz.policy_error' : 'authz.denied', detail: `${intent} is not granted to ${who} here.` },
    };
  };

  const lookupThenDecide = async (ctx: RequestContext, identity: Identity, intent: string, source: AttributeSource, t0: number): Promise<FilterResult> => {
    const found = await source.lookup(ctx.request.params);
    if (found.ok) return decide(ctx, identity, intent, t0, found.attributes);
    ctx.decision = { allow: false, mode: route.mode, policyIds: [], reason: 'authz.attribute_unavailable', intent };
    ctx.log.warn({ route: ctx.route.id, intent, error: found.error }, 'the attribute lookup failed: denied');
    if (route.mode === 'shadow') {
      observe?.(ctx.route.id, intent, 'shadow_deny', since(t0));
      return CONTINUE;
    }
    observe?.(ctx.route.id, intent, 'error', since(t0));
    return { action: 'reply', reply: { code: 'authz.attribute_unavailable', detail: `${intent} cannot be decided now: the attributes it needs are unavailable.` } };
  };

  const outOfScope = (ctx: RequestContext, identity: Identity, intent: string, t0: number): FilterResult => {
    // Enforced in shadow mode too: the scope limits the credential, it is not a policy on trial.
    ctx.decision = { allow: false, mode: 'enforce', policyIds: [], reason: 'authz.denied', intent };
    observe?.(ctx.route.id, intent, 'deny', since(t0));
    return { action: 'reply', reply: { code: 'authz.denied', detail: `${intent} is not in the scope of ${identity.subject}'s delegated token.` } };
  };

  return {
    name: 'authz',
    onRequest(ctx: RequestContext): FilterResult | Promise<FilterResult> {
      const t0 = performance.now();
      const identity = ctx.identity;
      if (route.intent === undefined) {
        // A policy is configured and this route says nothing of what it does: never silently open.
        ctx.decision = { allow: false, mode: route.mode, policyIds: [], reason: 'authz.no_intent' };
        observe?.(ctx.route.id, '-', 'no_intent', since(t0));
        ctx.log.warn({ route: ctx.route.id }, 'a request reached a route without an intent: denied');
        return route.mode === 'shadow' ? CONTINUE : { action: 'reply', reply: { code: 'authz.no_intent', detail: 'This route has no declared intent, so no one may use it until it does.' } };
      }
      if (identity === undefined) return { action: 'reply', reply: { code: 'authz.denied', detail: `This needs the intent ${route.intent}.` } };
      if (route.attributes !== undefined) return lookupThenDecide(ctx, identity, route.intent, route.attributes, t0);
      return decide(ctx, identity, route.intent, t0);
    },
  };
}
