import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, KINDS, QUIET_HOURS_POLICIES } from '@hub/domain';
import { listen, type RunningServer } from '@hub/http';
import { createTestContext, type TestContext } from '@hub/testing';
// Shared with admin-api's suite (not yet exported from @hub/testing's index).
import { CaseCounter, RawHttpClient, hostileRequests, rawRequest, sendHostile, tableCounts, type Endpoint, type ServiceBodyRules } from '@hub/testing';
import {
  PAYLOAD_MAX_BYTES,
  PAYLOAD_MAX_KEYS,
  ackBody,
  createTemplateBody,
  historyQuery,
  listTemplatesQuery,
  putPreferencesBody,
  putRecipientBody,
  registerDeviceBody,
  sendNotificationBody,
} from '../src/schemas.ts';
import { WEBHOOK_SECRETS, ingestApp, sign } from './harness.ts';

// Every endpoint of ingest-api against generated requests that are valid in shape and hostile in
// content: text Postgres cannot store, invalid UTF-8, 10,000-character strings, deep nesting,
// 20,000-key objects, oversized headers, wrong types, misspelled enums, repeated keys, wrong
// content types (shared/testing/src/hostile-http.ts). Each starts from a request the API would
// accept, so a hostility it failed to notice shows as a 2xx or a new row. Asserted: never a 5xx,
// always the expected 4xx as problem+json, a 400 names the field at fault, no table gains a row.

/** Generated requests per endpoint (12 endpoints and the Idempotency-Key header). */
const RUNS = Number(process.env.HOSTILE_RUNS ?? 5_500);

let ctx: TestContext;
let server: RunningServer;
let client: RawHttpClient;
let attemptId: string;
const counter = new CaseCounter();
const RECIPIENT = 'hostile-user';
const UUID = '0190f5a0-0000-7000-8000-000000000001';

// ingest parses every body as JSON whatever its Content-Type: the hostile field still decides.
const rules: ServiceBodyRules = { bodyLimitBytes: 1_048_576, wrongContentType: 'parsed' };

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  const { app } = ingestApp(ctx);
  // The production server (@hub/http listen): what Node's HTTP parser refuses is its doing.
  server = await listen(app, 0, '127.0.0.1');
  client = new RawHttpClient(server.port);
  // Real targets, so a hostile request that got through would be accepted, not a 404.
  const json = { 'Content-Type': 'application/json' };
  const put = await client.send(rawRequest({ method: 'PUT', path: `/api/v1/recipients/${RECIPIENT}`, headers: json, body: JSON.stringify({ channels: [{ type: 'EMAIL', address: 'h@example.com' }] }) }));
  expect(put.status).toBe(201);
  const sent = await client.send(
    rawRequest({ method: 'POST', path: '/api/v1/notifications', headers: { ...json, 'Idempotency-Key': 'hostile-setup' }, body: JSON.stringify({ recipientId: RECIPIENT, kind: 'SECURITY', title: 't', body: 'b' }) }),
  );
  expect(sent.status).toBe(202);
  const notificationId = (JSON.parse(sent.body.toString()) as { notificationId: string }).notificationId;
  attemptId = (await ctx.database.db.selectFrom('delivery_attempts').select('id').where('notification_id', '=', notificationId).executeTakeFirstOrThrow()).id;
});

afterAll(async () => {
  client?.close();
  await server?.close();
  await ctx?.close();
  // console.log: vitest prints it for passing tests too, so `npm test` shows the numbers.
  if (counter.total > 0) console.log(counter.summary('hostile input, ingest-api'));
});

/** RUNS generated requests against one endpoint; no table may gain a row. */
async function hostile(label: string, endpoint: Endpoint) {
  const before = await tableCounts(ctx.database.sql);
  await sendHostile({ client, arbitrary: hostileRequests(endpoint, rules), runs: RUNS, counter, label });
  expect(await tableCounts(ctx.database.sql)).toEqual(before);
}

let idempotency = 0;
let receipt = 0;
/** Receipt timestamps count down from here, a millisecond apart: no two are the same receipt. */
let receiptClock = 0;

describe('hostile input never causes a 5xx or a write (ingest-api)', () => {
  it('POST /notifications', () =>
    hostile('POST /notifications', {
      method: 'POST',
      path: () => '/api/v1/notifications',
      headers: () => ({ 'Idempotency-Key': `hostile-${++idempotency}` }),
      hostileHeaders: fc.oneof(
        fc.integer({ min: 129, max: 12_000 }).map((n) => 'k'.repeat(n)),
        fc.constantFrom('', '   '),
      ).map((key) => ({ headers: { 'Idempotency-Key': key }, status: [400], field: 'headers.idempotency-key' })),
      body: {
        valid: { recipientId: RECIPIENT, kind: 'SECURITY', title: 'Sign-in', body: 'New sign-in', onQuietHours: 'SUPPRESS' },
        schema: sendNotificationBody,
        fields: [
          { path: ['recipientId'], kind: { type: 'text' } },
          { path: ['kind'], kind: { type: 'enum', values: KINDS } },
          { path: ['title'], kind: { type: 'text' } },
          { path: ['body'], kind: { type: 'text' } },
          { path: ['templateKey'], kind: { type: 'strict' } },
          { path: ['payload'], kind: { type: 'map', maxKeys: PAYLOAD_MAX_KEYS, maxBytes: PAYLOAD_MAX_BYTES, maxValue: 4000 } },
          { path: ['onQuietHours'], kind: { type: 'enum', values: QUIET_HOURS_POLICIES } },
        ],
      },
    }));

  it('GET /notifications/me', () =>
    hostile('GET /notifications/me', {
      method: 'GET',
      path: () => '/api/v1/notifications/me',
      query: { valid: { recipientId: RECIPIENT, cursor: UUID, limit: '20' }, schema: historyQuery, fields: { recipientId: 'text', cursor: 'strict', limit: 'strict' } },
    }));

  it('GET /notifications/{id}', () =>
    hostile('GET /notifications/{id}', { method: 'GET', path: (id) => `/api/v1/notifications/${id}`, param: { valid: UUID, field: 'params.id', kind: 'uuid', reserved: ['me'] } }));

  it('PUT /recipients/{id}', () =>
    hostile('PUT /recipients/{id}', {
      method: 'PUT',
      path: (id) => `/api/v1/recipients/${id}`,
      param: { valid: 'hostile-new', field: 'params.id', kind: 'text' },
      body: {
        valid: { channels: [{ type: 'EMAIL', address: 'n@example.com' }], locale: 'ko-kr', timezone: 'Asia/Seoul' },
        schema: putRecipientBody,
        fields: [
          { path: ['channels'], kind: { type: 'array' } },
          { path: ['channels', 0, 'type'], kind: { type: 'enum', values: ['EMAIL', 'SMS', 'KAKAO_ALIMTALK'] } },
          { path: ['channels', 0, 'address'], kind: { type: 'text' } },
          { path: ['locale'], kind: { type: 'strict' } },
          { path: ['timezone'], kind: { type: 'strict' } },
        ],
      },
    }));

  it('GET /recipients/{id}', () => hostile('GET /recipients/{id}', { method: 'GET', path: (id) => `/api/v1/recipients/${id}`, param: { valid: RECIPIENT, field: 'params.id', kind: 'text' } }));

  it('GET /users/{id}/preferences', () =>
    hostile('GET /users/{id}/preferences', { method: 'GET', path: (id) => `/api/v1/users/${id}/preferences`, param: { valid: RECIPIENT, field: 'params.recipientId', kind: 'text' } }));

  it('PUT /users/{id}/preferences', () =>
    hostile('PUT /users/{id}/preferences', {
      method: 'PUT',
      path: (id) => `/api/v1/users/${id}/preferences`,
      param: { valid: RECIPIENT, field: 'params.recipientId', kind: 'text' },
      body: {
        valid: { kind: 'MARKETING', allowed: false, preferredChannels: ['EMAIL'], quietStart: '22:00', quietEnd: '07:00', disableQuietHours: false, timezone: 'Asia/Seoul' },
        schema: putPreferencesBody,
        fields: [
          { path: ['kind'], kind: { type: 'enum', values: KINDS } },
          { path: ['allowed'], kind: { type: 'bool' } },
          { path: ['preferredChannels'], kind: { type: 'array' } },
          { path: ['preferredChannels', 0], kind: { type: 'enum', values: CHANNELS } },
          { path: ['quietStart'], kind: { type: 'strict' } },
          { path: ['quietEnd'], kind: { type: 'strict' } },
          { path: ['disableQuietHours'], kind: { type: 'bool' } },
          { path: ['timezone'], kind: { type: 'strict' } },
        ],
      },
    }));

  it('POST /devices', () =>
    hostile('POST /devices', {
      method: 'POST',
      path: () => '/api/v1/devices',
      body: {
        valid: { recipientId: RECIPIENT, platform: 'WEB', token: `hostile-token-${'t'.repeat(32)}` },
        schema: registerDeviceBody,
        fields: [
          { path: ['recipientId'], kind: { type: 'text' } },
          { path: ['platform'], kind: { type: 'enum', values: ['ANDROID', 'IOS', 'WEB'] } },
          { path: ['token'], kind: { type: 'text' } },
        ],
      },
    }));

  it('DELETE /devices/{id}', () => hostile('DELETE /devices/{id}', { method: 'DELETE', path: (id) => `/api/v1/devices/${id}`, param: { valid: UUID, field: 'params.id', kind: 'uuid' } }));

  it('POST /templates', () =>
    hostile('POST /templates', {
      method: 'POST',
      path: () => '/api/v1/templates',
      body: {
        valid: { key: 'hostile.welcome.v1', locale: 'ko-kr', channelType: 'EMAIL', titleTemplate: 'Hi {name}', bodyTemplate: 'Welcome, {name}' },
        schema: createTemplateBody,
        fields: [
          { path: ['key'], kind: { type: 'strict' } },
          { path: ['locale'], kind: { type: 'strict' } },
          { path: ['channelType'], kind: { type: 'enum', values: CHANNELS } },
          { path: ['titleTemplate'], kind: { type: 'text' } },
          { path: ['bodyTemplate'], kind: { type: 'text' } },
        ],
      },
    }));

  it('GET /templates', () =>
    hostile('GET /templates', { method: 'GET', path: () => '/api/v1/templates', query: { valid: { key: 'hostile.welcome.v1' }, schema: listTemplatesQuery, fields: { key: 'strict' } } }));

  it('POST /deliveries/{id}/ack, signed: its content is what is hostile', async () => {
    receiptClock = Date.now();
    await hostile('POST /deliveries/{id}/ack', {
      method: 'POST',
      path: (id) => `/api/v1/deliveries/${id}/ack`,
      param: { valid: attemptId, field: 'params.attemptId', kind: 'uuid' },
      // Unknown vendors, stale timestamps, bad signatures: 401 before the content is read.
      hostileHeaders: fc
        .oneof(
          fc.record({ 'X-Notification-Hub-Vendor': fc.oneof(fc.constant(''), fc.constant('a'.repeat(10_000)), fc.string({ maxLength: 20 }).filter((v) => !['fcm', 'ses', 'twilio', 'kakao'].includes(v.trim()))) }),
          fc.record({ 'X-Notification-Hub-Timestamp': fc.oneof(fc.constant('9'.repeat(10_000)), fc.constantFrom('', '-1', '1e12', '0x10', '17e11'), fc.integer({ min: 0, max: 1_000_000_000_000 }).map(String)) }),
          fc.record({ 'X-Notification-Hub-Signature': fc.oneof(fc.constant(`v1=${'0'.repeat(64)}`), fc.constant(`v1=${'a'.repeat(10_000)}`), fc.string({ maxLength: 80 })) }),
        )
        .map((headers) => ({ headers, status: [401] })),
      body: {
        valid: { success: true, vendorMessageId: 'ses-hostile', failureReason: 'transient: x' },
        schema: ackBody,
        // The receipt route decodes its bytes strictly: invalid UTF-8 anywhere is a 400.
        fields: [
          { path: ['success'], kind: { type: 'bool' } },
          { path: ['vendorMessageId'], kind: { type: 'strict' } },
          { path: ['failureReason'], kind: { type: 'strict' } },
        ],
      },
      // Signed as the vendor would (hostile headers above replace these).
      sign: ({ param, body }) => {
        const timestamp = receiptClock - ++receipt;
        return {
          'X-Notification-Hub-Vendor': 'ses',
          'X-Notification-Hub-Timestamp': String(timestamp),
          'X-Notification-Hub-Signature': sign(WEBHOOK_SECRETS.ses, timestamp, param, body),
        };
      },
    });
    const attempt = await ctx.database.db.selectFrom('delivery_attempts').select(['status', 'vendor_message_id']).where('id', '=', attemptId).executeTakeFirstOrThrow();
    expect(attempt).toEqual({ status: 'PENDING', vendor_message_id: null });
  });
});
