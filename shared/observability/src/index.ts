export { createLogger, type Logger } from './logger.ts';
export { createMetricsRegistry, Counter, Gauge, Histogram, Registry } from './metrics.ts';
export { Readiness, type DependencyCheck, type ReadinessReport } from './readiness.ts';
export { ShutdownManager, type SignalSource } from './shutdown.ts';
export { createServiceRuntime, type RuntimeConfig, type ServiceRuntime } from './runtime.ts';
export { settlesWithin } from './settles-within.ts';
export {
  inSpan,
  spanHeaders,
  SpanKind,
  SpanStatusCode,
  startTracing,
  traceContextOf,
  traceHeaders,
  tracerOf,
  tracesUrl,
  type InSpanOptions,
  type Span,
  type StartTracingOptions,
  type TraceContext,
  type Tracer,
  type StopTracing,
  type TracingEnv,
} from './tracing.ts';
