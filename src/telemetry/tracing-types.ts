// The shapes tracing.ts (no OpenTelemetry code) and tracing-sdk.ts (the SDK, loaded on demand) share.
import type { IncomingMessage } from 'node:http';

/** What a span reads of a request's context (gateway/types.ts RequestContext, by shape). */
export interface TracedContext {
  readonly identity?: { readonly kind: string } | undefined;
  readonly decision?: { readonly allow: boolean; readonly mode: string; readonly intent?: string | undefined } | undefined;
}

export interface TracingConfig {
  readonly otlpEndpoint: string;
  readonly serviceName: string;
  readonly sampleRatio: number;
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/** What a finished request's `cortex.request` span is given. */
export interface RequestSummary {
  readonly status: number;
  readonly code: string;
  readonly path: string;
  readonly route: string | undefined;
  readonly ctx: TracedContext | undefined;
}

/** A child span around one filter's work; ended once. */
export interface FilterSpan {
  end(failed: boolean): void;
}

/** The upstream call's client span. */
export interface UpstreamSpan {
  end(outcome: 'ok' | 'error' | 'timeout', status: number | undefined): void;
}

/** One request's trace: the server span and its children. */
export interface RequestTrace {
  /** A `cortex.<name>` span for the filters that are traced (authn, authz), else undefined. */
  filter(name: string): FilterSpan | undefined;
  /** Starts the upstream span and writes its traceparent (and the incoming tracestate) into `headers`. */
  upstream(name: string, method: string, headers: Record<string, string | string[]>): UpstreamSpan;
  finish(summary: RequestSummary): void;
}

/** A configured tracer (tracing-sdk.ts). */
export interface ActiveTracing {
  startRequest(req: IncomingMessage, method: string): RequestTrace;
  /** Exports the spans batched so far now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
