// The single source of truth for Cortex's configuration. Everything else (the typed Config,
// the exported JSON Schema in schema/cortex.schema.json, docs/config-reference.md) derives from it.
// The sections live in schema-gateway.ts, schema-upstream.ts and schema-route.ts.
import { z } from 'zod';
import { apis } from './schema-apis.ts';
import { audit } from './schema-audit.ts';
import type { auditSink } from './schema-audit.ts';
import { credentials } from './schema-credentials.ts';
import { admin, gateway } from './schema-gateway.ts';
import { identity } from './schema-identity.ts';
import { policy } from './schema-policy.ts';
import { route } from './schema-route.ts';
import { telemetry } from './schema-telemetry.ts';
import type { headerOps } from './schema-route.ts';
import { upstream } from './schema-upstream.ts';

export const STAGES = ['dev', 'staging', 'prod'] as const;
export type Stage = (typeof STAGES)[number];

const log = z
  .strictObject({
    level: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('Least severe level that is written.'),
  })
  .describe('Process logs (pino, JSON to stderr).');

export const baseConfigSchema = z.strictObject({
  $schema: z.string().optional().describe('Path or URL of the JSON Schema, for editors.'),
  version: z.literal(1).describe('Config format version.'),
  stage: z.enum(STAGES).default('dev').describe('Default stage; --stage or CORTEX_STAGE override it.'),
  gateway: gateway.default(() => gateway.parse({})),
  admin: admin.default(() => admin.parse({})),
  identity: identity.prefault({}),
  upstreams: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]+$/), upstream)
    .default({})
    .describe('Upstream services by name (letters, digits, _ . -).'),
  routes: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]+$/), route)
    .default({})
    .describe('Routes by id (letters, digits, _ . -).'),
  apis,
  policy: policy.optional(),
  credentials: credentials.prefault({}),
  audit: audit.default(() => audit.parse({})),
  log: log.default(() => log.parse({})),
  telemetry: telemetry.prefault({}),
  shutdown: z
    .strictObject({
      drainDelayMs: z
        .number()
        .int()
        .min(0)
        .max(3_600_000)
        .default(0)
        .describe('Time between readiness turning false (/readyz answers 503) and the listener closing, so a load balancer notices before connections are refused.'),
      graceMs: z
        .number()
        .int()
        .min(0)
        .max(3_600_000)
        .default(10_000)
        .describe('Time, once the listener has closed, that in-flight requests and open streams get to finish; the rest are then cut (and audited).'),
    })
    .default({ drainDelayMs: 0, graceMs: 10_000 })
    .describe('Graceful shutdown on SIGTERM/SIGINT: readiness false, wait drainDelayMs, stop accepting, drain within graceMs, flush the audit log, exit.'),
});

/** The file's shape: the base config plus per-stage overrides deep-merged over it. */
export const configFileSchema = baseConfigSchema.extend({
  stages: z
    .partialRecord(z.enum(STAGES), z.record(z.string(), z.unknown()))
    .optional()
    .describe('Per-stage overrides, deep-merged over the rest of the file (objects merge, arrays and scalars replace, null removes a key).'),
});

export type Config = z.infer<typeof baseConfigSchema>;
export type UpstreamConfig = Config['upstreams'][string];
export type RouteConfig = Config['routes'][string];
export type HeaderOps = z.infer<typeof headerOps>;
export type AuditSinkConfig = z.infer<typeof auditSink>;
export type SessionsConfig = NonNullable<Config['identity']['sessions']>;
export type ApiKeysConfig = NonNullable<Config['identity']['apiKeys']>;
export type MtlsConfig = NonNullable<Config['gateway']['mtls']>;
export type PolicyConfig = NonNullable<Config['policy']>;
export type CredentialsConfig = Config['credentials'];
export type ImportedApiConfig = Config['apis'][string];
