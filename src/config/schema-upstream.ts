// The upstream section of the config schema.
import { z } from 'zod';
import { durationMs } from './schema-common.ts';
import { upstreamCredentials, upstreamIdentity } from './schema-credentials.ts';

export const upstream = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('Base URL of the upstream service (http or https). A path here is prefixed to every forwarded path. Exactly one of url or targets.'),
    targets: z
      .array(z.url({ protocol: /^https?$/ }))
      .min(1)
      .optional()
      .describe('Several base URLs of the same service, balanced per request (one connection pool each). Exactly one of url or targets.'),
    audience: z
      .string()
      .min(1)
      .optional()
      .describe("The audience access tokens must name to reach this upstream (aud, or client_id for Cognito); overrides the providers' audiences, overridden by a route's bearer.audiences."),
    balance: z
      .enum(['round-robin', 'least-busy'])
      .default('round-robin')
      .describe('How a target is chosen: in turn (round-robin) or the one with the fewest requests in flight from this gateway (least-busy).'),
    outlierDetection: z
      .strictObject({
        consecutiveFailures: z.number().int().min(1).max(1_000).default(3).describe('Consecutive connect failures (refused, unreachable, connect timeout, TLS handshake) that eject a target.'),
        baseEjectionMs: durationMs.default(10_000).describe('How long a target is first ejected; doubled for each repeat ejection without a success in between.'),
        maxEjectionMs: durationMs.default(300_000).describe('Longest ejection.'),
      })
      .prefault({})
      .describe('Passive outlier detection. When every target is ejected, the least recently ejected one is still used: a target that might work is better than a 503.'),
    healthCheck: z
      .strictObject({
        path: z.string().regex(/^\//, 'must start with /').default('/healthz').describe('Path requested with GET on each target; a 2xx or 3xx answer is healthy.'),
        intervalMs: durationMs.default(5_000).describe('Time between checks of each target.'),
        timeoutMs: durationMs.default(2_000).describe('Time allowed for a check to answer.'),
        healthyThreshold: z.number().int().min(1).max(100).default(2).describe('Consecutive passing checks that put a failing target back.'),
        unhealthyThreshold: z.number().int().min(1).max(100).default(3).describe('Consecutive failing checks that take a target out.'),
      })
      .optional()
      .describe('Active health checks, run while a config in use references the upstream. A failing target gets no requests until healthy again; when every target fails its checks, requests get 503 upstream.unavailable.'),
    retries: z
      .boolean()
      .default(true)
      .describe('Retry an idempotent request (GET, HEAD, OPTIONS, PUT, DELETE) whose connection could not be opened, once, on another target. Never after any request body byte or response byte; bounded by a budget of 20% of the last 10 s of requests (at least 3).'),
    tls: z
      .strictObject({
        ca: z.string().min(1).optional().describe('PEM file of the CA(s) trusted for the upstream\'s certificate, instead of the system CAs; relative to the working directory.'),
        serverName: z.string().min(1).optional().describe('SNI name sent, and name the certificate must carry; the URL host by default.'),
        cert: z.string().min(1).optional().describe('PEM client certificate file, for mutual TLS (with key).'),
        key: z.string().min(1).optional().describe('PEM private key file for cert.'),
        insecureSkipVerify: z.boolean().default(false).describe('Accept any upstream certificate. For tests only: it allows any server to impersonate the upstream.'),
      })
      .optional()
      .describe('TLS settings for https targets.'),
    connections: z.number().int().min(1).max(4096).default(128).describe('Maximum connections in the pool.'),
    connectTimeoutMs: durationMs.default(5_000).describe('Time allowed to open a connection.'),
    timeoutMs: durationMs
      .default(30_000)
      .describe('Time allowed for the upstream to answer with headers, and between body chunks. A route may shorten it.'),
    keepAliveTimeoutMs: durationMs
      .default(4_000)
      .describe('How long an idle pooled connection is kept; keep it below the upstream\'s own idle timeout.'),
    caller: upstreamIdentity,
    credentials: upstreamCredentials.optional(),
    host: z
      .enum(['preserve', 'upstream'])
      .default('preserve')
      .describe("Host header sent upstream: the client's (preserve) or the upstream URL's host."),
  })
  .describe('An upstream service that routes forward to.');
