import { afterEach, describe, expect, it, vi } from 'vitest';
import { inSpan, spanHeaders, startTracing, traceContextOf, traceHeaders, tracerOf, tracesUrl, type StopTracing } from './tracing.ts';

// Every SDK module records when it is loaded (the real module is still what the importer gets).
const loaded = vi.hoisted(() => new Set<string>());
vi.mock('@opentelemetry/sdk-trace', async (importOriginal) => (loaded.add('@opentelemetry/sdk-trace'), importOriginal()));
vi.mock('@opentelemetry/core', async (importOriginal) => (loaded.add('@opentelemetry/core'), importOriginal()));
vi.mock('@opentelemetry/resources', async (importOriginal) => (loaded.add('@opentelemetry/resources'), importOriginal()));
vi.mock('@opentelemetry/context-async-hooks', async (importOriginal) => (loaded.add('@opentelemetry/context-async-hooks'), importOriginal()));
vi.mock('@opentelemetry/exporter-trace-otlp-proto', async (importOriginal) => (loaded.add('@opentelemetry/exporter-trace-otlp-proto'), importOriginal()));

const off = { OTEL_TRACES_SAMPLER_ARG: 1 };
let stop: StopTracing | undefined;

afterEach(async () => {
  await stop?.();
  stop = undefined;
});

describe('startTracing', () => {
  // Runs first: the tests below load the SDK themselves (dynamic imports only in this file).
  it('loads no SDK module and records nothing while OTEL_EXPORTER_OTLP_ENDPOINT is unset', async () => {
    stop = await startTracing({ serviceName: 'test', env: off });
    expect([...loaded]).toEqual([]);
    const span = tracerOf('test').startSpan('nothing');
    expect(span.isRecording()).toBe(false);
    expect(spanHeaders(span)).toEqual({});
    expect(traceHeaders()).toEqual({});
    // A context arriving from upstream is not even parsed: without a propagator there is none.
    const incoming = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    expect(traceHeaders(traceContextOf(incoming))).toEqual({});
    await expect(inSpan(tracerOf('test'), 'work', {}, async () => 42)).resolves.toBe(42);
  });

  it('loads the SDK and the OTLP http/protobuf exporter when an endpoint is set, and stop() flushes and unregisters', async () => {
    stop = await startTracing({ serviceName: 'test', env: { ...off, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' } });
    expect(loaded).toEqual(
      new Set(['@opentelemetry/sdk-trace', '@opentelemetry/core', '@opentelemetry/resources', '@opentelemetry/context-async-hooks', '@opentelemetry/exporter-trace-otlp-proto']),
    );
    // No span was started: shutting down exports nothing and so reaches no collector.
    await stop();
    stop = undefined;
    expect(tracerOf('test').startSpan('after stop').isRecording()).toBe(false);
  });

  it('records spans with W3C propagation when on: inSpan nests, headers carry the active span, errors are marked', async () => {
    const { InMemorySpanExporter } = await import('@opentelemetry/sdk-trace');
    const exporter = new InMemorySpanExporter();
    stop = await startTracing({ serviceName: 'test', env: off, exporter });
    const tracer = tracerOf('test');
    const incoming = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    let inner = {} as Record<string, string>;
    await inSpan(tracer, 'outer', { parent: traceContextOf(incoming) }, async () => {
      await inSpan(tracer, 'inner', {}, async () => {
        inner = traceHeaders();
      });
      await expect(inSpan(tracer, 'failing', {}, async () => Promise.reject(new TypeError('boom')))).rejects.toThrow('boom');
      await expect(inSpan(tracer, 'refused', { isError: () => false }, async () => Promise.reject(new Error('4xx')))).rejects.toThrow('4xx');
    });
    const spans = Object.fromEntries(exporter.getFinishedSpans().map((s) => [s.name, s]));
    expect(spans.outer!.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(spans.outer!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(spans.inner!.parentSpanContext?.spanId).toBe(spans.outer!.spanContext().spanId);
    expect(inner.traceparent).toBe(`00-0af7651916cd43dd8448eb211c80319c-${spans.inner!.spanContext().spanId}-01`);
    expect(spans.failing!.status).toMatchObject({ code: 2, message: 'TypeError' });
    expect(spans.failing!.events.map((e) => e.name)).toEqual(['exception']);
    expect(spans.refused!.status.code).toBe(0);
    expect(spans.outer!.resource.attributes['service.name']).toBe('test');
  });

  it('refuses a second start in one process', async () => {
    const { InMemorySpanExporter } = await import('@opentelemetry/sdk-trace');
    stop = await startTracing({ serviceName: 'test', env: off, exporter: new InMemorySpanExporter() });
    await expect(startTracing({ serviceName: 'again', env: off, exporter: new InMemorySpanExporter() })).rejects.toThrow('already started');
  });
});

describe('tracesUrl', () => {
  it('appends /v1/traces to the base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT means it', () => {
    expect(tracesUrl('http://collector:4318')).toBe('http://collector:4318/v1/traces');
    expect(tracesUrl('https://otlp.example.com/otlp/')).toBe('https://otlp.example.com/otlp/v1/traces');
  });
});
