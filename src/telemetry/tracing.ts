// OpenTelemetry tracing as the data plane sees it. This module loads no OpenTelemetry code: the SDK
// (tracing-sdk.ts) is imported only when `telemetry.tracing` is configured, so without it the
// request path pays one property read per request and nothing else.
import type { Logger } from 'pino';
import type { ActiveTracing, RequestTrace, TracingConfig } from './tracing-types.ts';
import { redactUrl } from './logger.ts';

export type { ActiveTracing, FilterSpan, RequestSummary, RequestTrace, TracedContext, TracingConfig, UpstreamSpan } from './tracing-types.ts';

// Keyed by the request's context object (gateway/types.ts RequestContext): telemetry/ does not import gateway/.
const traces = new WeakMap<object, RequestTrace>();
/** No lookup per request in a process that never traced one. */
let anyBound = false;

/** Ties a request's trace to its context, for filters that run after the chain started (upstream). */
export function bindTrace(ctx: object, trace: RequestTrace): void {
  anyBound = true;
  traces.set(ctx, trace);
}

export function traceOf(ctx: object): RequestTrace | undefined {
  return anyBound ? traces.get(ctx) : undefined;
}

let sdkLoads = 0;

/** How many times this process loaded the tracing SDK (tests prove that an untraced gateway never does). */
export function tracingSdkLoads(): number {
  return sdkLoads;
}

/**
 * The gateway's tracing: `current` is undefined (the no-op: nothing is called per request) unless
 * configure() was given a tracing section. Set once at listen(); a change applies at restart.
 */
export class TracingSlot {
  current: ActiveTracing | undefined;

  async configure(cfg: TracingConfig | undefined, log: Logger): Promise<void> {
    if (cfg === undefined || this.current !== undefined) return;
    sdkLoads++;
    const sdk = await import('./tracing-sdk.ts');
    this.current = sdk.startTracing(cfg, log);
    log.info({ endpoint: redactUrl(cfg.otlpEndpoint), sampleRatio: cfg.sampleRatio }, 'tracing: exporting spans over OTLP/HTTP');
  }

  flush(): Promise<void> {
    return this.current?.flush() ?? Promise.resolve();
  }

  /** Flushes the spans still batched and stops the exporter. */
  async close(): Promise<void> {
    const t = this.current;
    this.current = undefined;
    await t?.close();
  }
}
