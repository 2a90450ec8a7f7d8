import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { Dispatcher, ProtectedVendor } from '@hub/dispatching';
import { createProducer, type Producer } from '@hub/messaging';
import { createMetricsRegistry, startTracing, type StopTracing } from '@hub/observability';
import { createTestContext, pollUntil, type TestContext } from '@hub/testing';
import { MockVendor } from '@hub/vendors';
import { ingestApp } from '../../ingest-api/test/harness.ts';
import { OutboxRelay } from '../src/relay.ts';

// ingest-api (its express app through supertest), outbox-relay and a PUSH dispatcher in this one
// process, with one tracer provider exporting to memory, against the real Postgres and Kafka.

const exporter = new InMemorySpanExporter();
let stopTracing: StopTracing;
let ctx: TestContext;
let app: ReturnType<typeof ingestApp>['app'];
let producer: Producer;
let relay: OutboxRelay;
let dispatcher: Dispatcher;

beforeAll(async () => {
  // First, as in main.ts: the globals must be registered before any span is started.
  stopTracing = await startTracing({ serviceName: 'tracing-test', env: { OTEL_TRACES_SAMPLER_ARG: 1 }, exporter });
  ctx = await createTestContext();
  ({ app } = ingestApp(ctx));
  producer = createProducer(ctx.kafka);
  await producer.connect();
  relay = new OutboxRelay(
    { db: ctx.database.db, sql: ctx.database.sql, producer, topics: ctx.topics, logger: ctx.logger, registry: createMetricsRegistry('relay') },
    {
      batchSize: 100,
      publishers: 1,
      pollIntervalMs: 100,
      maintenanceIntervalMs: 1_000,
      maintenanceBatchSize: 100,
      housekeepingIntervalMs: 60_000,
      retentionMs: 3_600_000,
      backoff: { baseMs: 20, maxMs: 100 },
    },
  );
  dispatcher = new Dispatcher({
    channel: 'PUSH',
    db: ctx.database.db,
    kafka: ctx.kafka,
    producer,
    topics: ctx.topics,
    vendor: new ProtectedVendor(new MockVendor({ channel: 'PUSH', latencyMs: 0, failureMix: { transient: 0, permanent: 0, invalid_recipient: 0 } }), {
      attempts: 3,
      timeoutMs: 2_000,
      breaker: { errorThresholdPercentage: 50, volumeThreshold: 10_000, resetTimeoutMs: 1_000 },
      random: () => 0,
    }),
    logger: ctx.logger,
    registry: createMetricsRegistry('dispatcher'),
    bulkConcurrency: 4,
    priorityConcurrency: 4,
    retryConcurrency: 4,
    leaseMs: 30_000,
    backoff: { baseMs: 20, maxMs: 100 },
  });
  await Promise.all([relay.start(), dispatcher.start()]);
});

afterAll(async () => {
  await dispatcher?.stop();
  await relay?.stop();
  await producer?.disconnect();
  await ctx?.close();
  await stopTracing?.();
});

let seq = 0;

/** A recipient whose only channel is one PUSH device. */
async function pushRecipient(): Promise<string> {
  const id = `traced-${Date.now().toString(36)}-${++seq}`;
  expect((await request(app).put(`/api/v1/recipients/${id}`).send({ channels: [] })).status).toBe(201);
  const device = await request(app)
    .post('/api/v1/devices')
    .send({ recipientId: id, platform: 'ANDROID', token: `device-token-${id}-${'x'.repeat(32)}` });
  expect(device.status).toBe(201);
  return id;
}

async function send(recipientId: string, headers: Record<string, string> = {}) {
  const res = await request(app)
    .post('/api/v1/notifications')
    .set('Idempotency-Key', `key-${recipientId}`)
    .set(headers)
    .send({ recipientId, kind: 'SECURITY', title: 'Sign-in from a new device', body: 'Was this you?' });
  expect(res.status).toBe(202);
  expect(res.body.dispatchedChannels).toEqual(['PUSH']);
  return res.body.notificationId as string;
}

const spanId = (span: ReadableSpan) => span.spanContext().spanId;
const traceId = (span: ReadableSpan) => span.spanContext().traceId;
const byName = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

/** Polls until the attempt SUCCEEDED and its trace holds every span the delivery makes; returns that trace. */
async function deliveredTrace(notificationId: string): Promise<ReadableSpan[]> {
  await pollUntil(
    'the PUSH attempt SUCCEEDED',
    async () =>
      (await ctx.database.db.selectFrom('delivery_attempts').select('status').where('notification_id', '=', notificationId).executeTakeFirstOrThrow())
        .status === 'SUCCEEDED',
    { timeoutMs: 30_000 },
  );
  // The relay's publish span can end after the dispatcher finished (it ends once the row is
  // marked published, after Kafka acknowledged it): wait for both.
  return pollUntil('the dispatch and the delivery publish spans ended', () => {
    const ingest = exporter.getFinishedSpans().find((s) => s.attributes['hub.notification_id'] === notificationId);
    if (!ingest) return undefined;
    const trace = exporter.getFinishedSpans().filter((s) => traceId(s) === traceId(ingest));
    const published = trace.some((s) => s.name === `publish ${ctx.topics.delivery('PUSH', true)}`);
    return published && trace.some((s) => s.name === 'dispatch PUSH') ? trace : undefined;
  });
}

/** The trace as an indented tree: name, kind, instrumentation scope, ids. */
function printTree(spans: ReadableSpan[]): string {
  const ids = new Set(spans.map(spanId));
  const children = (parent: string | undefined) =>
    spans
      .filter((s) => (parent === undefined ? !ids.has(s.parentSpanContext?.spanId ?? '') : s.parentSpanContext?.spanId === parent))
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
  const lines: string[] = [`trace ${traceId(spans[0]!)}`];
  const walk = (span: ReadableSpan, depth: number) => {
    lines.push(`${'  '.repeat(depth + 1)}${span.name} [${SpanKind[span.kind]}] ${span.instrumentationScope.name} span=${spanId(span)}`);
    for (const child of children(spanId(span))) walk(child, depth + 1);
  };
  for (const root of children(undefined)) walk(root, 0);
  return lines.join('\n');
}

describe('one trace per delivery: accept → relay publish → dispatch → vendor', () => {
  it('links the POST, the outbox row, the relay publish, the dispatch, the vendor call and the outcome in one trace', async () => {
    const notificationId = await send(await pushRecipient());
    const spans = await deliveredTrace(notificationId);
    console.log(printTree(spans));

    // ingest-api: the server span, a root (the caller sent no trace context).
    const [accept] = byName(spans, 'POST /api/v1/notifications');
    expect(accept).toMatchObject({ kind: SpanKind.SERVER, instrumentationScope: expect.objectContaining({ name: '@hub/ingest-api' }) });
    expect(accept!.parentSpanContext).toBeUndefined();
    expect(accept!.attributes['http.response.status_code']).toBe(202);

    // The outbox row carries the request's context.
    const deliveryTopic = ctx.topics.delivery('PUSH', true);
    const rows = await ctx.database.db.selectFrom('outbox').select(['payload', 'headers']).where('topic', '=', deliveryTopic).execute();
    const row = rows.find((r) => r.payload.notificationId === notificationId);
    expect(row?.headers.traceparent).toBe(`00-${traceId(accept!)}-${spanId(accept!)}-01`);

    // outbox-relay: one producer span per record, children of the request's span.
    const [publish] = byName(spans, `publish ${deliveryTopic}`);
    expect(publish).toMatchObject({ kind: SpanKind.PRODUCER, instrumentationScope: expect.objectContaining({ name: '@hub/outbox-relay' }) });
    expect(publish!.parentSpanContext?.spanId).toBe(spanId(accept!));
    expect(byName(spans, `publish ${ctx.topics.fannedOut}`)[0]?.parentSpanContext?.spanId).toBe(spanId(accept!));

    // dispatcher: the consumer span is the child of the record's producer span (from the Kafka headers).
    const [dispatch] = byName(spans, 'dispatch PUSH');
    expect(dispatch).toMatchObject({ kind: SpanKind.CONSUMER, instrumentationScope: expect.objectContaining({ name: '@hub/dispatching' }) });
    expect(dispatch!.parentSpanContext?.spanId).toBe(spanId(publish!));

    // The vendor call and the outcome's write are the dispatch's children.
    const [call] = byName(spans, 'mock-push call');
    expect(call).toMatchObject({ kind: SpanKind.CLIENT, attributes: expect.objectContaining({ 'hub.vendor': 'mock-push' }) });
    expect(call!.parentSpanContext?.spanId).toBe(spanId(dispatch!));
    const [record] = byName(spans, 'record outcome');
    expect(record!.parentSpanContext?.spanId).toBe(spanId(dispatch!));
    expect(record!.attributes).toMatchObject({ 'hub.outcome': 'succeeded', 'hub.status': 'SUCCEEDED' });

    // Three components, one trace.
    expect(new Set(spans.map((s) => s.instrumentationScope.name))).toEqual(new Set(['@hub/ingest-api', '@hub/outbox-relay', '@hub/dispatching']));
  });

  it("continues the caller's trace when the POST carries a W3C traceparent", async () => {
    const callerTrace = crypto.randomUUID().replaceAll('-', '');
    const callerSpan = crypto.randomUUID().replaceAll('-', '').slice(0, 16);
    const notificationId = await send(await pushRecipient(), { traceparent: `00-${callerTrace}-${callerSpan}-01` });
    const spans = await deliveredTrace(notificationId);
    const [accept] = byName(spans, 'POST /api/v1/notifications');
    expect(traceId(accept!)).toBe(callerTrace);
    expect(accept!.parentSpanContext).toMatchObject({ spanId: callerSpan, isRemote: true });
    expect(byName(spans, 'mock-push call')).toHaveLength(1);
  });

  it('starts a new trace, and still accepts the notification, when the traceparent is malformed', async () => {
    const notificationId = await send(await pushRecipient(), { traceparent: '00-not-a-trace-01' });
    const spans = await deliveredTrace(notificationId);
    const [accept] = byName(spans, 'POST /api/v1/notifications');
    expect(accept!.parentSpanContext).toBeUndefined();
    expect(byName(spans, 'dispatch PUSH')).toHaveLength(1);
  });
});
