import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createTestContext, type TestContext } from '@hub/testing';
import {
  createTemplateBody,
  putPreferencesBody,
  putRecipientBody,
  registerDeviceBody,
  sendNotificationBody,
} from '../src/schemas.ts';
import { ingestApp, rowCounts } from './harness.ts';

// Thousands of generated malformed requests against every endpoint: never a 5xx, never a row.

let ctx: TestContext;
let server: Server;
let base: string;
const RUNS = 400;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  const { app } = ingestApp(ctx);
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // One real recipient, so malformed requests about it get past the "unknown recipient" check.
  await request(base).put('/api/v1/recipients/fuzz-user').send({ channels: [{ type: 'EMAIL', address: 'f@example.com' }] }).expect(201);
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await ctx?.close();
});

/** Printable ASCII (what an HTTP header may carry), any length up to `max`. */
const headerValue = (max: number) => fc.string({ unit: fc.constantFrom(...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i))), maxLength: max });
const pathSegment = fc.string({ maxLength: 200 }).map(encodeURIComponent);
const anyJson = fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue()));

/** A body the schema rejects: random JSON, or a valid body with one field replaced by junk. */
function malformed(schema: z.ZodType, valid: Record<string, unknown>) {
  const corrupted = fc
    .record({ field: fc.constantFrom(...Object.keys(valid), '__proto__', 'extra'), value: fc.oneof(fc.jsonValue(), fc.constant(undefined)) })
    .map(({ field, value }) => JSON.parse(JSON.stringify({ ...valid, [field]: value })) as unknown);
  return fc.oneof(anyJson, corrupted).filter((body) => !schema.safeParse(body).success);
}

async function expectNoWritesAndNo5xx(name: string, arbitrary: fc.Arbitrary<() => request.Test>) {
  const before = await rowCounts(ctx);
  await fc.assert(
    fc.asyncProperty(arbitrary, async (make) => {
      const res = await make();
      if (res.status >= 500) throw new Error(`${name}: ${res.status} ${JSON.stringify(res.body)}`);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }),
    { numRuns: RUNS },
  );
  expect(await rowCounts(ctx)).toEqual(before);
}

const sendBody = { recipientId: 'fuzz-user', kind: 'SECURITY', title: 't', body: 'b' };

describe('malformed input never causes a 5xx or a write', () => {
  it('POST /notifications with malformed bodies', () =>
    expectNoWritesAndNo5xx(
      'send',
      fc.tuple(malformed(sendNotificationBody, sendBody), headerValue(40)).map(([body, key]) => () =>
        request(base).post('/api/v1/notifications').set('Idempotency-Key', `k${key}`).set('content-type', 'application/json').send(JSON.stringify(body) ?? 'null'),
      ),
    ));

  it('POST /notifications with malformed Idempotency-Key headers or raw bodies', () =>
    expectNoWritesAndNo5xx(
      'send-headers',
      fc.oneof(
        fc.oneof(fc.constant(''), headerValue(300).filter((k) => k.trim().length === 0 || k.length > 128)).map((key) => () =>
          request(base).post('/api/v1/notifications').set('Idempotency-Key', key).send(sendBody),
        ),
        fc.string({ maxLength: 300 }).filter((raw) => { try { return !sendNotificationBody.safeParse(JSON.parse(raw)).success; } catch { return true; } }).map((raw) => () =>
          request(base).post('/api/v1/notifications').set('Idempotency-Key', `raw-${raw.length}`).set('content-type', 'application/json').send(raw),
        ),
      ),
    ));

  it('GET /notifications/me and /notifications/{id} with arbitrary query strings and ids', () =>
    expectNoWritesAndNo5xx(
      'history',
      fc.oneof(
        fc.string({ maxLength: 200 }).filter((q) => !/(^|&)recipientId=[^&]+/.test(q) || /cursor|limit/.test(q)).map((q) => () => request(base).get(`/api/v1/notifications/me?${encodeURI(q)}`)),
        fc.record({ recipientId: fc.string({ maxLength: 200 }), cursor: fc.string({ maxLength: 60 }), limit: fc.string({ maxLength: 6 }) })
          .filter((q) => !/^\d+$/.test(q.limit) || Number(q.limit) < 1 || Number(q.limit) > 100 || q.recipientId.trim() === '')
          .map((q) => () => request(base).get('/api/v1/notifications/me').query(q)),
        pathSegment.filter((s) => s.length > 0).map((id) => () => request(base).get(`/api/v1/notifications/${id}`)),
      ),
    ));

  it('PUT/GET /recipients/{id} with malformed bodies and ids', () =>
    expectNoWritesAndNo5xx(
      'recipients',
      fc.oneof(
        fc.tuple(pathSegment, malformed(putRecipientBody, { channels: [{ type: 'EMAIL', address: 'a@b.co' }], locale: 'ko-kr', timezone: 'Asia/Seoul' })).map(
          ([id, body]) => () => request(base).put(`/api/v1/recipients/x${id}`).set('content-type', 'application/json').send(JSON.stringify(body) ?? 'null'),
        ),
        pathSegment.filter((s) => s.length > 0 && s !== 'fuzz-user').map((id) => () => request(base).get(`/api/v1/recipients/${id}`)),
      ),
    ));

  it('PUT/GET /users/{id}/preferences with malformed bodies', () =>
    expectNoWritesAndNo5xx(
      'preferences',
      fc.oneof(
        malformed(putPreferencesBody, { kind: 'MARKETING', allowed: true, quietStart: '22:00', quietEnd: '07:00' }).map((body) => () =>
          request(base).put('/api/v1/users/fuzz-user/preferences').set('content-type', 'application/json').send(JSON.stringify(body) ?? 'null'),
        ),
        pathSegment.filter((s) => s.length > 0 && s !== 'fuzz-user').map((id) => () => request(base).get(`/api/v1/users/${id}/preferences`)),
      ),
    ));

  it('POST/DELETE /devices with malformed bodies and ids', () =>
    expectNoWritesAndNo5xx(
      'devices',
      fc.oneof(
        malformed(registerDeviceBody, { recipientId: 'fuzz-user', platform: 'WEB', token: 'w'.repeat(40) }).map((body) => () => request(base).post('/api/v1/devices').set('content-type', 'application/json').send(JSON.stringify(body) ?? 'null')),
        pathSegment.filter((s) => s.length > 0).map((id) => () => request(base).delete(`/api/v1/devices/${id}`)),
      ),
    ));

  it('POST/GET /templates with malformed bodies and queries', () =>
    expectNoWritesAndNo5xx(
      'templates',
      fc.oneof(
        malformed(createTemplateBody, { key: 'fuzz.key', locale: 'ko-kr', channelType: 'EMAIL', titleTemplate: 't', bodyTemplate: 'b' }).map((body) => () =>
          request(base).post('/api/v1/templates').set('content-type', 'application/json').send(JSON.stringify(body) ?? 'null'),
        ),
        fc.string({ maxLength: 100 }).filter((q) => !/(^|&)key=[a-z]/.test(q)).map((q) => () => request(base).get(`/api/v1/templates?${encodeURI(q)}`)),
      ),
    ));

  it('any method on raw paths with broken %-encoding and odd characters', () =>
    expectNoWritesAndNo5xx(
      'raw-paths',
      fc
        .record({
          method: fc.constantFrom('get', 'put', 'post', 'delete'),
          prefix: fc.constantFrom('/api/v1/recipients/', '/api/v1/users/', '/api/v1/devices/', '/api/v1/notifications/', '/api/v1/deliveries/', '/api/v1/templates/'),
          rest: fc.string({ unit: fc.constantFrom('%', 'E', '0', 'A', 'z', '/', '.', '~', '-', '?', '=', '&', '#', 'a'), minLength: 1, maxLength: 30 }),
        })
        .map((r) => () => request(base)[r.method](`${r.prefix}%${r.rest}`).set('content-type', 'application/json').send('{"x":')),
    ));

  it('POST /deliveries/{id}/ack with unsigned or badly signed requests', () =>
    expectNoWritesAndNo5xx(
      'ack',
      fc
        .record({
          id: pathSegment,
          vendor: fc.oneof(fc.constantFrom('fcm', 'ses', 'twilio', 'kakao'), headerValue(20)),
          timestamp: fc.oneof(headerValue(20), fc.integer().map(String), fc.constant(String(Date.now()))),
          signature: fc.oneof(headerValue(80), fc.stringMatching(/^v1=[0-9a-f]{64}$/)),
          body: fc.oneof(fc.string({ maxLength: 200 }), anyJson.map((v) => JSON.stringify(v) ?? 'null')),
        })
        .map((r) => () =>
          request(base)
            .post(`/api/v1/deliveries/${r.id || 'x'}/ack`)
            .set('X-Notification-Hub-Vendor', r.vendor)
            .set('X-Notification-Hub-Timestamp', r.timestamp)
            .set('X-Notification-Hub-Signature', r.signature)
            .set('content-type', 'application/json')
            .send(r.body),
        ),
    ));
});

// Postgres text and jsonb cannot hold U+0000, and an unpaired surrogate has no UTF-8 form (the
// statement fails, or U+FFFD is stored). Either is the caller's mistake: a 400 naming the field.
describe('text Postgres cannot store is a 400 naming the field, never a 500', () => {
  const json = (body: unknown) => JSON.stringify(body);
  const cases: Array<[string, () => request.Test, string]> = [
    ['a NUL in POST /notifications title', () => request(base).post('/api/v1/notifications').set('Idempotency-Key', 'nul-title').type('json').send(json({ ...sendBody, title: 'a\u0000b' })), 'body.title'],
    ['a lone surrogate in POST /notifications body', () => request(base).post('/api/v1/notifications').set('Idempotency-Key', 'sur-body').type('json').send(json({ ...sendBody, body: 'x\ud800y' })), 'body.body'],
    ['a NUL in POST /notifications recipientId', () => request(base).post('/api/v1/notifications').set('Idempotency-Key', 'nul-rid').type('json').send(json({ ...sendBody, recipientId: 'fuzz\u0000user' })), 'body.recipientId'],
    ['a NUL in a POST /notifications payload value', () => request(base).post('/api/v1/notifications').set('Idempotency-Key', 'nul-payload').type('json').send(json({ recipientId: 'fuzz-user', kind: 'SECURITY', templateKey: 'auth.otp.v1', payload: { code: '1\u00002' } })), 'body.payload.code'],
    ['a NUL in POST /templates bodyTemplate', () => request(base).post('/api/v1/templates').type('json').send(json({ key: 'nul.body', locale: 'ko-kr', channelType: 'EMAIL', titleTemplate: 't', bodyTemplate: 'b\u0000' })), 'body.bodyTemplate'],
    ['a NUL in POST /devices token', () => request(base).post('/api/v1/devices').type('json').send(json({ recipientId: 'fuzz-user', platform: 'WEB', token: `t\u0000${'w'.repeat(40)}` })), 'body.token'],
    ['a %00 in PUT /recipients/{id}', () => request(base).put('/api/v1/recipients/a%00b').send({ channels: [] }), 'params.id'],
    ['a NUL in a PUT /recipients/{id} address', () => request(base).put('/api/v1/recipients/nul-address').type('json').send(json({ channels: [{ type: 'EMAIL', address: 'a\u0000@b.co' }] })), 'body.channels.0.address'],
    ['a %00 in GET /recipients/{id}', () => request(base).get('/api/v1/recipients/a%00b'), 'params.id'],
    ['a %00 in GET /users/{id}/preferences', () => request(base).get('/api/v1/users/a%00b/preferences'), 'params.recipientId'],
    ['a %00 in PUT /users/{id}/preferences', () => request(base).put('/api/v1/users/a%00b/preferences').send({ kind: 'MARKETING', allowed: false }), 'params.recipientId'],
    ['a %00 in GET /notifications/me?recipientId=', () => request(base).get('/api/v1/notifications/me?recipientId=a%00b'), 'query.recipientId'],
    ['a lone surrogate (%ED%A0%80) in PUT /recipients/{id}', () => request(base).put('/api/v1/recipients/a%ED%A0%80b').send({ channels: [] }), 'params'],
  ];

  it.each(cases)('%s', async (_name, make, field) => {
    const before = await rowCounts(ctx);
    const res = await make();
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body.code).toBe('BAD_REQUEST');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(await rowCounts(ctx)).toEqual(before);
  });
});

describe('limits a production API sets', () => {
  const send = (body: unknown, key: string) => request(base).post('/api/v1/notifications').set('Idempotency-Key', key).type('json').send(JSON.stringify(body));
  const many = (n: number, value: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));

  it.each<[string, () => request.Test, string]>([
    ['a payload of 20,000 keys (289 kB)', () => send({ ...sendBody, payload: many(20_000, 'v') }, 'limit-keys'), 'body.payload'],
    ['a payload of 101 keys', () => send({ ...sendBody, payload: many(101, 'v') }, 'limit-101'), 'body.payload'],
    ['a payload over 16 KiB as JSON', () => send({ ...sendBody, payload: many(5, 'v'.repeat(4000)) }, 'limit-bytes'), 'body.payload'],
    ['a template key of 10,000 characters', () => request(base).post('/api/v1/templates').send({ key: `a.${'b'.repeat(10_000)}`, locale: 'ko-kr', channelType: 'EMAIL', titleTemplate: 't', bodyTemplate: 'b' }), 'body.key'],
    ['an e-mail address of 300 characters', () => request(base).put('/api/v1/recipients/long-address').send({ channels: [{ type: 'EMAIL', address: `${'a'.repeat(290)}@example.com` }] }), 'body.channels.0.address'],
    ['a body that is not JSON', () => request(base).post('/api/v1/devices').type('json').send('{"recipientId":'), 'body'],
  ])('answers %s with a 400 naming the field and writes nothing', async (_name, make, field) => {
    const before = await rowCounts(ctx);
    const res = await make();
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it('accepts a payload at the limits (100 keys, 16 KiB)', async () => {
    const payload = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v'.repeat(150)]));
    expect(Buffer.byteLength(JSON.stringify(payload))).toBeLessThanOrEqual(16_384);
    expect((await send({ ...sendBody, payload }, 'limit-ok')).status).toBe(202);
  });
});
