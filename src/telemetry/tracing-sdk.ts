// The OpenTelemetry SDK side of tracing.ts, imported only when tracing is configured: a tracer
// provider of its own per gateway (no global registration, so several gateways in one process
// never share spans), a parent-based ratio sampler, and a batch processor exporting OTLP/HTTP JSON.
// Contexts are passed explicitly (no context manager): the spans a request makes are its own.
import type { IncomingMessage } from 'node:http';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Context, Span, TextMapGetter, TextMapSetter, Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import type { ActiveTracing, FilterSpan, RequestSummary, RequestTrace, TracingConfig, UpstreamSpan } from './tracing-types.ts';

const TRACED_FILTERS = new Set(['authn', 'authz']);

const getter: TextMapGetter<IncomingMessage> = {
  keys: (req) => Object.keys(req.headers),
  get: (req, key) => req.headers[key],
};

const setter: TextMapSetter<Record<string, string | string[]>> = {
  set: (headers, key, value) => {
    headers[key] = value;
  },
};

export function startTracing(cfg: TracingConfig, log: Logger): ActiveTracing {
  const exporter = new OTLPTraceExporter({ url: cfg.otlpEndpoint, headers: { ...cfg.headers } });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': cfg.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(cfg.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('cortex');
  const propagator = new W3CTraceContextPropagator();
  return {
    startRequest(req, method) {
      // Only a valid W3C traceparent becomes the parent (the propagator ignores anything else).
      const parent = propagator.extract(ROOT_CONTEXT, req, getter);
      const span = tracer.startSpan('cortex.request', { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } }, parent);
      return new Trace(tracer, propagator, span, trace.setSpan(parent, span));
    },
    flush() {
      return provider.forceFlush();
    },
    async close() {
      try {
        await provider.shutdown();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'tracing: the last spans could not be exported');
      }
    },
  };
}

class Trace implements RequestTrace {
  private readonly tracer: Tracer;
  private readonly propagator: W3CTraceContextPropagator;
  private readonly span: Span;
  private readonly context: Context;
  private upstreamSpan: Span | undefined;

  constructor(tracer: Tracer, propagator: W3CTraceContextPropagator, span: Span, context: Context) {
    this.tracer = tracer;
    this.propagator = propagator;
    this.span = span;
    this.context = context;
  }

  filter(name: string): FilterSpan | undefined {
    if (!TRACED_FILTERS.has(name)) return undefined;
    const span = this.tracer.startSpan(`cortex.${name}`, { kind: SpanKind.INTERNAL }, this.context);
    return {
      end(failed) {
        if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      },
    };
  }

  upstream(name: string, method: string, headers: Record<string, string | string[]>): UpstreamSpan {
    const span = this.tracer.startSpan(
      'cortex.upstream',
      { kind: SpanKind.CLIENT, attributes: { 'http.request.method': method, 'cortex.upstream': name } },
      this.context,
    );
    this.upstreamSpan = span;
    // The client's own traceparent is never forwarded: the upstream's parent is this span.
    delete headers.traceparent;
    this.propagator.inject(trace.setSpan(this.context, span), headers, setter);
    return {
      end: (outcome, status) => {
        if (status !== undefined) span.setAttribute('http.response.status_code', status);
        if (outcome !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
        span.end();
        this.upstreamSpan = undefined;
      },
    };
  }

  finish(s: RequestSummary): void {
    // An upstream call cut short by the client never reached its own end.
    this.upstreamSpan?.end();
    const span = this.span;
    span.setAttribute('url.path', s.path);
    span.setAttribute('http.response.status_code', s.status);
    span.setAttribute('cortex.reason', s.code);
    if (s.route !== undefined) span.setAttribute('http.route', s.route);
    span.setAttribute('cortex.principal.kind', s.ctx?.identity?.kind ?? 'none');
    const decision = s.ctx?.decision;
    if (decision !== undefined) {
      if (decision.intent !== undefined) span.setAttribute('cortex.intent', decision.intent);
      span.setAttribute('cortex.decision', decision.allow ? 'allow' : decision.mode === 'shadow' ? 'shadow_deny' : 'deny');
    }
    if (s.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }
}
