// The policy section of the config schema: which roles hold which intents (grants), hand-written
// Cedar files, and how agents are limited. Routes name their intent (schema-route.ts).
import { z } from 'zod';

/** An intent such as orders:read; a grant may use a trailing wildcard (orders:*) or '*'. */
export const INTENT_RE = /^[a-z][a-z0-9_-]*(?::[a-z][a-z0-9_-]*)+$/;
const intentPattern = z
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
