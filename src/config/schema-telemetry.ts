// The telemetry section: OpenTelemetry tracing, off unless configured (metrics are always on the
// admin listener; logs are the `log` section).
import { z } from 'zod';

const tracing = z
  .strictObject({
    otlpEndpoint: z
      .url({ protocol: /^https?$/ })
      .describe('OTLP/HTTP traces endpoint spans are exported to, e.g. http://collector:4318/v1/traces.'),
    serviceName: z.string().min(1).default('cortex').describe('service.name of the exported resource.'),
    sampleRatio: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe("Share of new traces sampled (0..1); a request with a traceparent follows its parent's sampled flag."),
    headers: z
      .record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string())
      .optional()
      .describe('Extra HTTP headers sent with each export (an API key for a hosted collector: use ${ENV_VAR}).'),
  })
  .describe('OpenTelemetry spans for each request, exported over OTLP/HTTP (JSON) with a batch processor. Without this section no tracing SDK is loaded. A change applies at restart.');

export const telemetry = z
  .strictObject({
    tracing: tracing.optional(),
  })
  .describe('Tracing (OpenTelemetry).');
