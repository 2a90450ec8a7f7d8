import { context, propagation, ROOT_CONTEXT, SpanStatusCode, trace, type Context, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';
// Types only: erased at run time, so importing them loads nothing.
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';

/** The settings startTracing reads (`tracingEnv` of @hub/config, parsed by the service). */
export interface TracingEnv {
  /** OTLP/HTTP base URL; spans go to `<it>/v1/traces` (http/protobuf). Unset: tracing is off. */
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  /** Headers of every export request (a collector's API key). */
  OTEL_EXPORTER_OTLP_HEADERS?: Record<string, string> | undefined;
  /** Share of new traces recorded, 0…1; a trace begun upstream follows its caller's decision. */
  OTEL_TRACES_SAMPLER_ARG: number;
}

export interface StartTracingOptions {
  /** `service.name` of every span this process records. */
  serviceName: string;
  env: TracingEnv;
  /**
   * Tests: export every ended span to this exporter at once (e.g. an InMemorySpanExporter),
   * whatever the env says.
   */
  exporter?: SpanExporter;
}

/** Flushes the spans not yet exported and unregisters tracing; for the shutdown steps. */
export type StopTracing = () => Promise<void>;

/**
 * Starts OpenTelemetry tracing for this process when OTEL_EXPORTER_OTLP_ENDPOINT is set (ADR
 * 0024): a tracer provider exporting in batches over OTLP http/protobuf, W3C trace context
 * propagation and an AsyncLocalStorage context manager, all registered as the API's globals.
 * Otherwise nothing is loaded (the SDK and the exporter are imported only here, dynamically):
 * the API's no-op tracer makes every span call in the hub a no-op and every inject an empty
 * carrier. Call it first in main.ts, once per process.
 */
export async function startTracing(options: StartTracingOptions): Promise<StopTracing> {
  const { env } = options;
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (endpoint === undefined && options.exporter === undefined) return async () => {};
  const [sdk, { W3CTraceContextPropagator }, { resourceFromAttributes }, { AsyncLocalStorageContextManager }] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/context-async-hooks'),
  ]);
  let processor: SpanProcessor;
  if (options.exporter) {
    processor = new sdk.SimpleSpanProcessor({ exporter: options.exporter });
  } else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    const exporter = new OTLPTraceExporter({ url: tracesUrl(endpoint!), headers: env.OTEL_EXPORTER_OTLP_HEADERS ?? {} });
    processor = new sdk.BatchSpanProcessor({ exporter });
  }
  const provider = new sdk.TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(env.OTEL_TRACES_SAMPLER_ARG) }),
    spanProcessors: [processor],
  });
  // The provider first: when another one is registered already, nothing of ours is.
  if (!trace.setGlobalTracerProvider(provider)) {
    await provider.shutdown();
    throw new Error('tracing was already started in this process');
  }
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return async () => {
    try {
      // Ends with a last export of the spans still queued.
      await provider.shutdown();
    } finally {
      trace.disable();
      propagation.disable();
      context.disable();
    }
  };
}

/** The OTLP/HTTP traces URL under a base endpoint, as the OTel spec derives it from OTEL_EXPORTER_OTLP_ENDPOINT. */
export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

/** The tracer of one component, named after its package (the instrumentation scope). */
export function tracerOf(scope: string): Tracer {
  return trace.getTracer(scope);
}

/** W3C trace context headers (`traceparent`, `tracestate`) of `ctx`, by default the active one; `{}` while tracing is off. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** W3C trace context headers naming `span` as the parent of what the receiver does; `{}` while tracing is off. */
export function spanHeaders(span: Span): Record<string, string> {
  return traceHeaders(trace.setSpan(ROOT_CONTEXT, span));
}

/**
 * The remote parent carried by W3C trace context headers (an HTTP request's, an outbox row's,
 * a Kafka record's). A missing or malformed `traceparent` yields no parent: a new trace starts.
 */
export function traceContextOf(headers: Record<string, string | string[] | undefined>): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}

export interface InSpanOptions extends SpanOptions {
  /** The parent; default the active context. */
  parent?: Context;
  /** Whether a thrown error marks the span failed (default: always); a server span leaves 4xx out. */
  isError?: (err: unknown) => boolean;
}

/**
 * Runs `work` inside a new span, active while it runs (spans started in it are its children).
 * The span ends when `work` settles; a throw is recorded on it and rethrown.
 */
export async function inSpan<T>(tracer: Tracer, name: string, options: InSpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  const { parent, isError, ...spanOptions } = options;
  return tracer.startActiveSpan(name, spanOptions, parent ?? context.active(), async (span) => {
    try {
      return await work(span);
    } catch (err) {
      if (isError?.(err) ?? true) {
        if (err instanceof Error) span.recordException(err);
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
      }
      throw err;
    } finally {
      span.end();
    }
  });
}

export { SpanKind, SpanStatusCode, type Context as TraceContext, type Span, type Tracer } from '@opentelemetry/api';
