// GET /api/openapi.json: the admin API describing itself (OpenAPI 3.1). Every /api/ entry of
// endpoints.ts's table is here and nothing else is (test/integration/admin/openapi.test.ts);
// a `/*` entry there is a `/{param}` path here.

type Schema = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'query' | 'path';
  required?: boolean;
  description: string;
  schema: Schema;
}

interface Operation {
  summary: string;
  description?: string;
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Schema }> } | { $ref: string }>;
}

type Method = 'get' | 'post' | 'delete';

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  security: Record<string, string[]>[];
  paths: Record<string, Partial<Record<Method, Operation>>>;
  components: { securitySchemes: Record<string, Schema>; schemas: Record<string, Schema>; responses: Record<string, unknown> };
}

const PROBLEM = { $ref: '#/components/schemas/Problem' };
const ANY_OBJECT: Schema = { type: 'object', additionalProperties: true };
const json = (schema: Schema) => ({ 'application/json': { schema } });
const ok = (description: string, schema: Schema = ANY_OBJECT) => ({ description, content: json(schema) });
const query = (name: string, description: string, schema: Schema = { type: 'string' }): Parameter => ({ name, in: 'query', description, schema });
const path = (name: string, description: string): Parameter => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const body = (schema: Schema) => ({ required: true, content: json(schema) });

/** The error answers every operation shares: 401 without the admin credential, and problem+json for the rest. */
function op(o: Operation): Operation {
  return { ...o, responses: { ...o.responses, '401': { $ref: '#/components/responses/Unauthorized' }, default: { $ref: '#/components/responses/Problem' } } };
}

const STAGE_GRANTS: Schema = {
  oneOf: [
    {
      type: 'object',
      required: ['intent', 'policy', 'roles', 'groups', 'services', 'agents'],
      properties: {
        intent: { type: ['string', 'null'] },
        policy: { const: true },
        roles: { type: 'array', items: { type: 'string' } },
        groups: { type: 'array', items: { $ref: '#/components/schemas/Grantee' } },
        services: { type: 'array', items: { $ref: '#/components/schemas/Grantee' } },
        agents: { type: 'array', items: { $ref: '#/components/schemas/Grantee' } },
      },
    },
    { type: 'object', required: ['intent', 'policy'], properties: { intent: { type: ['string', 'null'] }, policy: { const: false } }, description: 'The stage has no policy section.' },
    { type: 'object', required: ['unavailable'], properties: { unavailable: { type: 'string' } }, description: 'The config does not load at this stage.' },
  ],
};

const ROUTE: Schema = {
  type: 'object',
  required: ['id', 'upstream', 'filters'],
  properties: {
    id: { type: 'string' },
    upstream: { type: 'string' },
    match: ANY_OBJECT,
    filters: { type: 'array', items: { type: 'string' } },
    auth: { type: 'array', items: { type: 'string', enum: ['none', 'bearer', 'session', 'api_key', 'mtls'] } },
    intent: { type: ['string', 'null'] },
    tags: { type: 'array', items: { type: 'string' } },
    policyMode: { type: ['string', 'null'], enum: ['enforce', 'shadow', null] },
    attributeSource: { type: ['string', 'null'], description: 'URL template of the resource attribute lookup.' },
    importedFrom: { type: ['string', 'null'], description: 'The apis.* entry the route was imported from.' },
    grants: { type: 'object', properties: { dev: STAGE_GRANTS, staging: STAGE_GRANTS, prod: STAGE_GRANTS } },
    differs: { type: 'boolean', description: 'True when the stages give the route other intents, roles or grantees.' },
    pending: {
      type: ['object', 'null'],
      description: 'The intent change of this operation awaiting `cortex intents approve`.',
      properties: { api: { type: 'string' }, operation: { type: 'string' }, approved: { $ref: '#/components/schemas/IntentState' }, proposed: { $ref: '#/components/schemas/IntentState' } },
    },
  },
};

const AUDIT_FILTERS = [
  query('user', 'A person (subject).'),
  query('agent', 'An agent (client id).'),
  query('route', 'A route id.'),
  query('kind', 'The caller kind.', { type: 'string', enum: ['user', 'service', 'agent', 'anonymous'] }),
];

export const OPENAPI: OpenApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Cortex admin API',
    version: '1',
    description: 'The admin listener of a Cortex gateway. Every /api/ call needs the admin token as a bearer token, or the cortex_admin cookie (from POST /api/session, or from an admin login: GET /auth/login with admin.login, for people holding its role), and is audited. GET /auth/options (open) says which the dashboard may offer. Errors are application/problem+json.',
  },
  security: [{ adminToken: [] }, { adminCookie: [] }],
  paths: {
    '/api/status': { get: op({ operationId: 'getStatus', summary: 'Snapshot generation, stage, routes, identity providers and imported APIs.', responses: { '200': ok('Status.') } }) },
    '/api/config': { get: op({ operationId: 'getConfig', summary: 'The running config, every secret redacted.', responses: { '200': ok('The config.') } }) },
    '/api/routes': {
      get: op({
        operationId: 'listRoutes',
        summary: 'Every route with its intent, who holds it in each stage, and its pending intent change.',
        responses: { '200': ok('The routes.', { type: 'object', properties: { routes: { type: 'array', items: ROUTE } } }) },
      }),
    },
    '/api/policies': {
      get: op({
        operationId: 'getPolicies',
        summary: 'The generated Cedar policies and schema, the hand-written files, and the policy ids that can apply to each intent.',
        responses: {
          '200': ok('The policies.', {
            type: 'object',
            properties: {
              enabled: { type: 'boolean' },
              mode: { type: ['string', 'null'] },
              generated: { type: 'string' },
              schema: { type: 'string' },
              files: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, ids: { type: 'array', items: { type: 'string' } }, problem: { type: 'string' } } } },
              policies: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, source: { type: 'string' }, line: { type: 'integer' } } } },
              intents: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
              notes: { type: 'array', items: { type: 'string' } },
            },
          }),
        },
      }),
    },
    '/api/openapi.json': { get: op({ operationId: 'getOpenApi', summary: 'This document.', responses: { '200': ok('OpenAPI 3.1.') } }) },
    '/api/explain': {
      post: op({
        operationId: 'explain',
        summary: 'The policy decision for one caller and request, as `cortex explain --json` gives it.',
        requestBody: body({
          type: 'object',
          required: ['method', 'path'],
          properties: {
            as: { type: 'string' },
            agent: { type: 'string' },
            for: { type: 'string' },
            claims: ANY_OBJECT,
            token: { type: 'string' },
            method: { type: 'string' },
            path: { type: 'string' },
            host: { type: 'string' },
            stage: { type: 'string' },
            resource: { type: 'object', additionalProperties: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } },
          },
          description: 'Exactly one of as, agent (optionally with for: the person it acts for), claims or token. resource: the route\'s resource attributes by hand, as cortex explain --resource.',
        }),
        responses: { '200': ok('The explanation.') },
      }),
    },
    '/api/audit': {
      get: op({
        operationId: 'queryAudit',
        summary: 'Audit events, newest first, with a Link rel="next" header while older pages exist.',
        parameters: [
          ...AUDIT_FILTERS,
          ...['intent', 'status', 'requestId', 'denied', 'since', 'until', 'limit', 'cursor'].map((n) => query(n, `The ${n} filter of cortex audit.`)),
        ],
        responses: { '200': ok('A page of events.', { type: 'object', properties: { events: { type: 'array', items: ANY_OBJECT }, next: { type: ['string', 'null'] } } }) },
      }),
    },
    '/api/events': {
      get: op({
        operationId: 'streamEvents',
        summary: 'The audit trail live, as Server-Sent Events (each `data:` one audit event as JSON).',
        parameters: [...AUDIT_FILTERS, query('decision', 'allow or deny.', { type: 'string', enum: ['allow', 'deny'] }), query('type', 'The audit event type.')],
        responses: { '200': { description: 'An event stream that stays open.', content: { 'text/event-stream': { schema: { type: 'string' } } } } },
      }),
    },
    '/api/session': {
      post: op({
        operationId: 'openSession',
        summary: 'Trades the admin token for the HttpOnly cortex_admin cookie (for browsers and EventSource).',
        requestBody: body({ type: 'object', required: ['token'], properties: { token: { type: 'string' } } }),
        responses: { '204': { description: 'The cookie is set.' } },
      }),
      delete: op({ operationId: 'closeSession', summary: 'Clears the cortex_admin cookie.', responses: { '204': { description: 'The cookie is cleared.' } } }),
    },
    '/api/whoami': {
      get: op({
        operationId: 'whoami',
        summary: 'Who is calling: the admin token, a cookie opened with it, or a logged-in person.',
        responses: {
          '200': ok('The caller.', {
            type: 'object',
            required: ['via', 'who'],
            properties: {
              via: { enum: ['token', 'session', 'login'] },
              who: {
                oneOf: [
                  { type: 'null' },
                  { type: 'object', properties: { subject: { type: 'string' }, username: { type: ['string', 'null'] }, name: { type: ['string', 'null'] }, roles: { type: 'array', items: { type: 'string' } } } },
                ],
              },
            },
          }),
        },
      }),
    },
    '/api/stats': {
      get: op({
        operationId: 'trafficStats',
        summary: 'Requests, denials, 5xx errors and latency (p50, p95) in 10-second buckets, oldest first, since this process started (in memory).',
        parameters: [query('window', 'How far back: 15m (default) or 1h.', { type: 'string', enum: ['15m', '1h'] })],
        responses: {
          '200': ok('The buckets covering the window, empty ones included.', {
            type: 'object',
            properties: {
              bucketMs: { const: 10000 },
              now: { type: 'integer' },
              buckets: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { t: { type: 'integer' }, requests: { type: 'integer' }, denied: { type: 'integer' }, errors: { type: 'integer' }, p50Ms: { type: ['number', 'null'] }, p95Ms: { type: ['number', 'null'] } },
                },
              },
            },
          }),
        },
      }),
    },
    '/api/people/{user}': {
      get: op({
        operationId: 'getPerson',
        summary: 'A person or agent as the recent trail names them, and the agents acting for them (delegation grants, and agents seen in the trail).',
        parameters: [path('user', 'A subject or username.')],
        responses: { '200': ok('The person.') },
      }),
    },
    '/api/keys': { get: op({ operationId: 'listSigningKeys', summary: 'The signing key ring: each key\'s id, state and times (no private material).', responses: { '200': ok('The keys.') } }) },
    '/api/agents': {
      get: op({
        operationId: 'listAgentGrants',
        summary: "People's delegation grants to agents.",
        parameters: [query('user', 'The person (subject).'), query('agent', 'The agent.'), query('issuer', 'The person\'s issuer.')],
        responses: { '200': ok('The grants.', { type: 'object', properties: { grants: { type: 'array', items: ANY_OBJECT } } }) },
      }),
      post: op({ operationId: 'recordAgentGrant', summary: 'Records a delegation grant on a person\'s behalf.', requestBody: body(ANY_OBJECT), responses: { '201': ok('The grant.') } }),
    },
    '/api/agents/{agent}': {
      delete: op({
        operationId: 'withdrawAgentGrant',
        summary: "Withdraws a person's grant to the agent and revokes the delegated tokens it holds for them.",
        parameters: [path('agent', 'The agent.'), query('subject', 'The person.'), query('issuer', 'The person\'s issuer.')],
        responses: { '200': ok('Withdrawn.'), '204': { description: 'Withdrawn.' } },
      }),
    },
    '/api/api-keys': {
      get: op({ operationId: 'listApiKeys', summary: 'The API keys (never their secrets).', responses: { '200': ok('The keys.') } }),
      post: op({ operationId: 'createApiKey', summary: 'Creates an API key; the key is in this response only.', requestBody: body(ANY_OBJECT), responses: { '201': ok('The new key.') } }),
    },
    '/api/api-keys/{keyId}': {
      delete: op({ operationId: 'revokeApiKey', summary: 'Revokes an API key.', parameters: [path('keyId', 'The key id.')], responses: { '200': ok('Revoked.'), '204': { description: 'Revoked.' } } }),
    },
    '/api/revocations': {
      post: op({
        operationId: 'revokeDelegatedTokens',
        summary: 'Revokes delegated tokens by jti, agent, person, or a person\'s grant to an agent.',
        requestBody: body(ANY_OBJECT),
        responses: { '200': ok('Recorded.') },
      }),
    },
  },
  components: {
    securitySchemes: {
      adminToken: { type: 'http', scheme: 'bearer', description: 'admin.token or CORTEX_ADMIN_TOKEN.' },
      adminCookie: { type: 'apiKey', in: 'cookie', name: 'cortex_admin', description: 'Set by POST /api/session.' },
    },
    schemas: {
      Problem: {
        type: 'object',
        required: ['type', 'title', 'status', 'code', 'requestId'],
        properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, code: { type: 'string' }, requestId: { type: 'string' } },
      },
      Grantee: { type: 'object', required: ['provider', 'name'], properties: { provider: { type: 'string' }, name: { type: 'string' } } },
      IntentState: { type: 'object', properties: { intent: { type: ['string', 'null'] }, tags: { type: 'array', items: { type: 'string' } } } },
    },
    responses: {
      Unauthorized: { description: 'No valid admin token or cookie (admin.unauthorized), with WWW-Authenticate.', content: { 'application/problem+json': { schema: PROBLEM } } },
      Problem: { description: 'An error, as RFC 9457 problem+json with a stable code.', content: { 'application/problem+json': { schema: PROBLEM } } },
    },
  },
};

const TEXT = JSON.stringify(OPENAPI);

export function openApiDocument(): string {
  return TEXT;
}
