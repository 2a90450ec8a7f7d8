// Tracing as it runs in production: ingest-api, outbox-relay and dispatcher-push as separate
// processes (their bundles), exporting over OTLP http/protobuf to a collector this test plays.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, pollUntil, startService, type StartedService, type TestContext } from '@hub/testing';

let ctx: TestContext;
let collector: Server;
const exports: Buffer[] = [];
const running: StartedService[] = [];

beforeAll(async () => {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces' && req.headers['content-type'] === 'application/x-protobuf') {
        const body = Buffer.concat(chunks);
        exports.push(req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body);
        // An empty ExportTraceServiceResponse: everything accepted.
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  ctx = await createTestContext();
  const env = {
    ...ctx.env,
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
    RELAY_POLL_INTERVAL_MS: '100',
    SHUTDOWN_TIMEOUT_MS: '15000',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
  };
  running.push(...(await Promise.all(['ingest-api', 'outbox-relay', 'dispatcher-push'].map((service) => startService(service, env)))));
}, 120_000);

afterAll(async () => {
  for (const service of running) service.process.kill('SIGKILL');
  await new Promise((resolve) => collector?.close(resolve));
  await ctx?.close();
});

describe('tracing across the real processes', () => {
  it('exports one trace from ingest-api, outbox-relay and dispatcher-push over OTLP, flushed on SIGTERM', async () => {
    const [ingest] = running;
    const recipientId = `traced-${crypto.randomUUID()}`;
    const call = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${ingest!.base}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    expect((await call('PUT', `/api/v1/recipients/${recipientId}`, { channels: [] })).status).toBe(201);
    expect((await call('POST', '/api/v1/devices', { recipientId, platform: 'ANDROID', token: `device-token-${recipientId}` })).status).toBe(201);
    const sent = await call(
      'POST',
      '/api/v1/notifications',
      { recipientId, kind: 'SECURITY', title: 'Sign-in from a new device', body: 'Was this you?' },
      { 'idempotency-key': recipientId },
    );
    expect(sent.status).toBe(202);
    const { notificationId } = (await sent.json()) as { notificationId: string };
    await pollUntil(
      'the PUSH attempt SUCCEEDED',
      async () =>
        (await ctx.database.db.selectFrom('delivery_attempts').select('status').where('notification_id', '=', notificationId).executeTakeFirstOrThrow())
          .status === 'SUCCEEDED',
      { timeoutMs: 30_000 },
    );
    // The batch processor exports every few seconds; the shutdown's last step flushes what is left.
    for (const service of running) service.process.kill('SIGTERM');
    expect(await Promise.all(running.map((s) => s.process.exited))).toEqual([0, 0, 0]);

    const spans = exports.flatMap(decodeExport);
    const accept = spans.find((s) => s.name === 'POST /api/v1/notifications' && s.service === 'ingest-api');
    expect(accept).toBeDefined();
    const trace = spans.filter((s) => s.traceId === accept!.traceId);
    console.log(trace.map((s) => `${s.service}: ${s.name} span=${s.spanId} parent=${s.parentSpanId || '-'}`).join('\n'));
    const one = (service: string, name: string) => {
      const found = trace.filter((s) => s.service === service && s.name === name);
      expect(found, `${service}: ${name}`).toHaveLength(1);
      return found[0]!;
    };
    const publish = one('outbox-relay', `publish ${ctx.topics.delivery('PUSH', true)}`);
    const dispatch = one('dispatcher-push', 'dispatch PUSH');
    const vendor = one('dispatcher-push', 'mock-push call');
    const record = one('dispatcher-push', 'record outcome');
    expect(publish.parentSpanId).toBe(accept!.spanId);
    expect(dispatch.parentSpanId).toBe(publish.spanId);
    expect(vendor.parentSpanId).toBe(dispatch.spanId);
    expect(record.parentSpanId).toBe(dispatch.spanId);
  });
});

interface ExportedSpan {
  service: string;
  scope: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
}

/** The spans of one OTLP ExportTraceServiceRequest (opentelemetry-proto trace/v1), read by field number. */
function decodeExport(body: Buffer): ExportedSpan[] {
  const spans: ExportedSpan[] = [];
  for (const resourceSpans of fields(body, 1)) {
    const resource = fields(resourceSpans, 1)[0] ?? Buffer.alloc(0);
    let service = '';
    for (const attribute of fields(resource, 1)) {
      const value = fields(attribute, 2)[0];
      if (text(fields(attribute, 1)[0]) === 'service.name' && value) service = text(fields(value, 1)[0]);
    }
    for (const scopeSpans of fields(resourceSpans, 2)) {
      const scope = text(fields(fields(scopeSpans, 1)[0] ?? Buffer.alloc(0), 1)[0]);
      for (const span of fields(scopeSpans, 2)) {
        spans.push({
          service,
          scope,
          traceId: hex(fields(span, 1)[0]),
          spanId: hex(fields(span, 2)[0]),
          parentSpanId: hex(fields(span, 4)[0]),
          name: text(fields(span, 5)[0]),
        });
      }
    }
  }
  return spans;
}

const text = (b: Buffer | undefined) => b?.toString('utf8') ?? '';
const hex = (b: Buffer | undefined) => b?.toString('hex') ?? '';

/** The length-delimited values of field `wanted` in a protobuf message (other fields skipped by wire type). */
function fields(message: Buffer, wanted: number): Buffer[] {
  const found: Buffer[] = [];
  let at = 0;
  const varint = () => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = message[at++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < message.length) {
    const key = Number(varint());
    const field = key >>> 3;
    switch (key & 7) {
      case 0:
        varint();
        break;
      case 1:
        at += 8;
        break;
      case 2: {
        const length = Number(varint());
        if (field === wanted) found.push(message.subarray(at, at + length));
        at += length;
        break;
      }
      case 5:
        at += 4;
        break;
      default:
        throw new Error(`unsupported protobuf wire type ${key & 7}`);
    }
  }
  return found;
}
