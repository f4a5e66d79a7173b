// The apis section of the config schema: upstreams' own OpenAPI documents, imported as routes with
// their intents, refreshed while the gateway runs (src/intents/).
import { z } from 'zod';
import { durationMs } from './schema-common.ts';
import { routeAuth, routeSession } from './schema-access.ts';
import { routeBearer } from './schema-identity.ts';
import { routeIntent, routeTags, TAG_RE } from './schema-policy.ts';
import { attributeSource, pathTemplate } from './schema-route.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** An operation named as the spec names it: METHOD and path template (GET /orders/{id}). */
export const OPERATION_RE = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \/\S*$/;

const intentRule = z
  .strictObject({
    when: z
      .strictObject({
        operationId: z.string().optional().describe('A regular expression the operationId must match.'),
        tag: z.string().optional().describe('An OpenAPI tag the operation must carry.'),
        scope: z.string().optional().describe('A regular expression one of the OAuth scopes in the operation\'s security requirements must match.'),
        methods: z.array(z.enum(METHODS)).min(1).optional().describe('Methods the operation must have.'),
        path: z.string().optional().describe('A regular expression the path template must match.'),
      })
      .refine((w) => Object.values(w).some((v) => v !== undefined), 'give at least one condition')
      .describe('Every condition given must hold.'),
    intent: z
      .string()
      .min(3)
      .describe("The intent, a template: {tag} (the matched or first OpenAPI tag, lowercased), {scope} (the matched scope), {method} (lowercase) are filled in; the result must be an intent such as orders:read."),
    tags: routeTags.describe('Tags of the intent (destructive, pii, admin).'),
  })
  .describe('A mapping rule: an operation without x-cortex-intent that meets `when` gets `intent`.');

const operationOverride = z
  .strictObject({
    intent: routeIntent.optional().describe('Pins the intent, whatever the document says (no approval needed: the config is reviewed).'),
    tags: z.array(z.string().regex(TAG_RE)).optional().describe('Pins the tags.'),
    resource: z.strictObject({ attributes: attributeSource }).optional().describe('Attribute source for this operation, as on a route.'),
    policyMode: z.enum(['enforce', 'shadow']).optional(),
  })
  .describe('Config for one operation of the document.');

export const importedApi = z
  .strictObject({
    upstream: z.string().describe('Name of the entry in upstreams that serves the API.'),
    spec: z
      .strictObject({
        url: z.string().url().optional().describe('Where to fetch the OpenAPI document (JSON or YAML), over http(s).'),
        file: z.string().min(1).optional().describe('A file holding the OpenAPI document (JSON or YAML).'),
      })
      .refine((s) => (s.url === undefined) !== (s.file === undefined), 'exactly one of url or file')
      .describe('The OpenAPI 3 document.'),
    prefix: pathTemplate
      .default('/')
      .refine((p) => p.endsWith('/'), 'a prefix ends with /')
      .describe("Gateway path the document's paths are served under (its paths are appended, and forwarded upstream without the prefix). Every path under it that the document does not declare is denied (authz.undeclared_operation)."),
    refreshIntervalMs: durationMs.default(60_000).describe('How often the document is fetched again; a change adds, removes or retags routes without a config edit. The last good document keeps serving when a fetch fails.'),
    fetchTimeoutMs: durationMs.default(5000).describe('How long one fetch may take.'),
    lockFile: z
      .string()
      .min(1)
      .optional()
      .describe('Where the approved intent of each operation is kept (JSON, meant to be committed beside the config); .cortex/intents/<api>.json when unset. In protected stages a changed intent waits here for cortex intents approve.'),
    intents: z
      .strictObject({
        rules: z.array(intentRule).default([]).describe('Tried in order when an operation has no x-cortex-intent; the first that matches gives the intent.'),
        scopesAreIntents: z
          .boolean()
          .default(false)
          .describe('An operation whose security requirements name exactly one scope shaped like an intent (orders:read) takes it as its intent, after x-cortex-intent and before the rules.'),
      })
      .prefault({})
      .describe('How an operation gets its intent: its x-cortex-intent extension ("orders:read", or { intent, tags }), else these. An operation with no intent is denied (authz.no_intent) and reported.'),
    operations: z
      .record(z.string().regex(OPERATION_RE, 'METHOD /path as in the document, e.g. GET /orders/{id}'), operationOverride)
      .default({})
      .describe('Per-operation config, keyed METHOD /path as in the document.'),
    auth: routeAuth,
    bearer: routeBearer.optional(),
    session: routeSession.optional(),
    policyMode: z.enum(['enforce', 'shadow']).optional().describe('Overrides policy.mode for the imported routes.'),
    timeoutMs: durationMs.optional().describe("Overrides the upstream's timeoutMs for the imported routes."),
  })
  .describe("An API imported from its own OpenAPI document: each operation becomes a route with its intent.");

export const apis = z
  .record(z.string().regex(/^[A-Za-z0-9_-]+$/), importedApi)
  .default({})
  .describe('APIs imported from their OpenAPI documents, by name (letters, digits, _ -). Routes in routes win over an imported operation with the same method and path.');
