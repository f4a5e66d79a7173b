// The policy section of the config schema: which roles hold which intents (grants), hand-written
// Cedar files, and how agents are limited. Routes name their intent (schema-route.ts).
import { z } from 'zod';

/** An intent such as orders:read; a grant may use a trailing wildcard (orders:*) or '*'. */
export const INTENT_RE = /^[a-z][a-z0-9_-]*(?::[a-z][a-z0-9_-]*)+$/;
export const intentPattern = z
  .string()
  .regex(/^(\*|[a-z][a-z0-9_-]*(?::[a-z][a-z0-9_-]*)*(?::\*)?)$/, "an intent (orders:read), a wildcard over its last part (orders:*), or '*'");

export const TAG_RE = /^[a-z][a-z0-9_-]*$/;

export const policy = z
  .strictObject({
    mode: z
      .enum(['enforce', 'shadow'])
      .default('enforce')
      .describe('enforce: a deny is answered 403 authz.denied. shadow: every request is decided, logged and counted, and let through; for trying policies before enforcing them. A route can override it.'),
    grants: z
      .record(z.string().min(1), z.array(intentPattern))
      .default({})
      .describe('Role → the intents it holds (orders:read, orders:*, *). Give a stage its own grants under stages.<stage>.policy.grants.'),
    files: z
      .array(z.string().min(1))
      .default([])
      .describe('Hand-written Cedar policy files (ownership, MFA for destructive intents, office hours, agent limits), validated against the generated schema at load.'),
    protectedStages: z
      .array(z.enum(['dev', 'staging', 'prod']))
      .default(['prod'])
      .describe("Stages where a change to an existing operation's intent or tags in an imported OpenAPI document (apis) waits for approval (cortex intents approve) before it takes effect; until then the approved intent holds and the change is reported."),
    allowProdGains: z
      .array(
        z.strictObject({
          who: z
            .string()
            .regex(/^(group|service|agent):[^\s]+$/, 'group:NAME (an identity-provider group), service:NAME or agent:NAME')
            .describe('The identity-provider group (group:admins), service client (service:reporting) or agent client (agent:assistant) that may hold more in prod.'),
          provider: z.string().optional().describe('The identity provider the group comes from; any provider when unset.'),
          intents: z.array(intentPattern).min(1).describe('The intents prod may grant it beyond staging (wildcards allowed).'),
          reason: z.string().min(1).describe('Why: shown by cortex check and cortex diff.'),
        }),
      )
      .default([])
      .describe('cortex check fails when prod grants a group, service or agent an intent staging does not; list here what prod may grant beyond staging, on purpose.'),
    agents: z
      .strictObject({
        forbidTags: z
          .array(z.string().regex(TAG_RE))
          .default(['destructive'])
          .describe('Intents with any of these tags are never allowed to an agent, whoever it acts for: they need a person.'),
      })
      .prefault({})
      .describe('Limits on AI agents. An agent acting for a person gets at most the intersection of its own grants and the person\'s.'),
  })
  .describe('Who may do what: grants compiled to Cedar policies, plus hand-written Cedar.');

export const routeIntent = z.string().regex(INTENT_RE, 'an intent such as orders:read (resource:verb, lowercase)');
export const routeTags = z.array(z.string().regex(TAG_RE)).default([]);
