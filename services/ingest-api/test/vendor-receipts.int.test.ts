import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vendorResultSchema } from '@hub/messaging';
import { createMetricsRegistry, Readiness } from '@hub/observability';
import { createTestContext, type TestContext } from '@hub/testing';
import { sesEvent, startFakeSns, twilioCallbackSignature, twilioStatusCallbackForm, type FakeSns, type SnsEnvelope } from '@hub/vendors/fakes';
import { twilioStatusCallbackUrl } from '@hub/vendors/receipt-urls';
import { createApp } from '../src/app.ts';
import type { SnsTrust } from '../src/routes/vendor-receipts-sns.ts';
import { WEBHOOK_SECRETS, ingestConfig, rowCounts, sign, testClock } from './harness.ts';

const NOON_SEOUL = new Date('2026-03-10T03:00:00Z');
const PUBLIC_BASE_URL = 'https://hub.example.test';
const TWILIO_AUTH_TOKEN = 'twilio-auth-token-for-tests';
const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:ses-events';

let ctx: TestContext;
let sns: FakeSns;
let app: ReturnType<typeof createApp>;
const clock = testClock(NOON_SEOUL);
let seq = 0;
const uniq = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;

/** Trusts only the fake's origin: what production's sns.<region>.amazonaws.com check is to AWS. */
function fakeTrust(fake: FakeSns): SnsTrust {
  const origin = new URL(fake.url).origin;
  return {
    allows: (url) => url.origin === origin,
    get: async (url) => {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`GET answered ${res.status}`);
      return res.text();
    },
  };
}

function buildApp(env: Record<string, string> = {}) {
  return createApp({
    db: ctx.database.db,
    sql: ctx.database.sql,
    redis: ctx.redis,
    logger: ctx.logger,
    registry: createMetricsRegistry('ingest-api-test'),
    readiness: new Readiness(),
    clock: clock.now,
    config: ingestConfig(ctx, { PUBLIC_BASE_URL, TWILIO_AUTH_TOKEN, SES_SNS_TOPIC_ARNS: TOPIC_ARN, ...env }),
    snsTrust: fakeTrust(sns),
  });
}

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  sns = await startFakeSns();
  app = buildApp();
});
afterAll(async () => {
  await sns?.close();
  await ctx?.close();
});

/** A FANNED_OUT notification through the API; returns its attempts by channel. */
async function notification(channels: { type: 'EMAIL' | 'SMS'; address: string }[]) {
  const recipientId = uniq('user');
  await request(app).put(`/api/v1/recipients/${recipientId}`).send({ channels }).expect(201);
  const res = await request(app).post('/api/v1/notifications').set('Idempotency-Key', uniq('k')).send({ recipientId, kind: 'SECURITY', title: 't', body: 'b' });
  expect(res.status).toBe(202);
  const attempts = await ctx.database.db.selectFrom('delivery_attempts').select(['id', 'channel']).where('notification_id', '=', res.body.notificationId).execute();
  const of = (channel: string) => attempts.find((a) => a.channel === channel)?.id ?? '';
  return { recipientId, notificationId: res.body.notificationId as string, email: of('EMAIL'), sms: of('SMS') };
}

/** As a dispatcher leaves an attempt the vendor accepted. */
const succeeded = (attemptId: string, vendorMessageId: string) =>
  ctx.database.db
    .updateTable('delivery_attempts')
    .set({ status: 'SUCCEEDED', vendor_message_id: vendorMessageId, dispatched_at: clock.now(), completed_at: clock.now() })
    .where('id', '=', attemptId)
    .execute();

const attemptRow = (id: string) =>
  ctx.database.db
    .selectFrom('delivery_attempts')
    .select(['status', 'delivery_status', 'delivery_status_reason', 'delivery_status_at', 'vendor_message_id'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();

const suppressedRows = (address: string) => ctx.database.db.selectFrom('suppressed_addresses').selectAll().where('address', '=', address).execute();

async function vendorResults(attemptId: string) {
  const rows = await ctx.database.db.selectFrom('outbox').select('payload').where('topic', '=', ctx.topics.vendorResult).execute();
  return rows.map((r) => vendorResultSchema.parse(r.payload)).filter((e) => e.attemptId === attemptId);
}

const smsSid = () => `SM${Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join('')}`;

function twilioCallback(
  attemptId: string,
  form: Record<string, string>,
  options: { token?: string; signature?: string; signedForm?: Record<string, string>; contentType?: string; app?: typeof app } = {},
) {
  const url = twilioStatusCallbackUrl(PUBLIC_BASE_URL, attemptId);
  const signature = options.signature ?? twilioCallbackSignature(options.token ?? TWILIO_AUTH_TOKEN, url, options.signedForm ?? form);
  return request(options.app ?? app)
    .post(new URL(url).pathname)
    .set('X-Twilio-Signature', signature)
    .set('content-type', options.contentType ?? 'application/x-www-form-urlencoded')
    .send(new URLSearchParams(form).toString());
}

function postSns(envelope: SnsEnvelope | string, options: { messageType?: string; app?: typeof app } = {}) {
  const body = typeof envelope === 'string' ? envelope : JSON.stringify(envelope);
  const type = options.messageType ?? (typeof envelope === 'string' ? 'Notification' : envelope.Type);
  // SNS posts its JSON document as text/plain.
  return request(options.app ?? app)
    .post('/api/v1/vendors/ses/sns')
    .set('content-type', 'text/plain; charset=UTF-8')
    .set('x-amz-sns-message-type', type)
    .send(body);
}

function expectProblem(res: request.Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(res.body).toMatchObject({ status, code: expect.any(String), message: expect.any(String) });
}

describe('POST /vendors/twilio/status/{attemptId}', () => {
  it('records DELIVERED from a validly signed callback, with its notify.vendor.result event and audit row', async () => {
    const { sms } = await notification([{ type: 'SMS', address: '+821011112222' }]);
    const sid = smsSid();
    await succeeded(sms, sid);
    const res = await twilioCallback(sms, twilioStatusCallbackForm({ messageSid: sid, status: 'delivered', to: '+821011112222' }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ attemptId: sms, outcome: 'applied', deliveryStatus: 'DELIVERED' });
    expect(await attemptRow(sms)).toMatchObject({ status: 'SUCCEEDED', delivery_status: 'DELIVERED', delivery_status_reason: null, vendor_message_id: sid });
    expect(await vendorResults(sms)).toEqual([expect.objectContaining({ outcome: 'SUCCEEDED', deliveryStatus: 'DELIVERED', vendorMessageId: sid })]);
    const audit = await ctx.database.db.selectFrom('audit_events').selectAll().where('target_id', '=', sms).execute();
    expect(audit).toEqual([expect.objectContaining({ action: 'DELIVERY_STATUS', actor: 'vendor:twilio' })]);
  });

  it('treats the same callback again (a replay) as harmless: 200 ignored, nothing written', async () => {
    const { sms } = await notification([{ type: 'SMS', address: '+821011113333' }]);
    const sid = smsSid();
    await succeeded(sms, sid);
    const form = twilioStatusCallbackForm({ messageSid: sid, status: 'undelivered', errorCode: '30003', to: '+821011113333' });
    expect((await twilioCallback(sms, form)).body.outcome).toBe('applied');
    const before = { counts: await rowCounts(ctx), row: await attemptRow(sms) };
    const replay = await twilioCallback(sms, form);
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ attemptId: sms, outcome: 'ignored', deliveryStatus: 'UNDELIVERED' });
    expect(await rowCounts(ctx)).toEqual(before.counts);
    expect(await attemptRow(sms)).toEqual(before.row);
  });

  it.each([
    ['signed with another auth token', { token: 'not-the-token' }],
    ['signed over other parameters (tampered status)', { signedForm: { MessageStatus: 'sent' } }],
    ['without a signature', { signature: '' }],
    ['with a signature that is not base64 HMAC-SHA1', { signature: 'v1=deadbeef' }],
  ])('rejects a forged callback %s with 401 and changes nothing', async (_name, options) => {
    const { sms } = await notification([{ type: 'SMS', address: '+821011114444' }]);
    await succeeded(sms, smsSid());
    const before = await rowCounts(ctx);
    const res = await twilioCallback(sms, twilioStatusCallbackForm({ messageSid: smsSid(), status: 'delivered', to: '+821011114444' }), options);
    expectProblem(res, 401);
    expect(await rowCounts(ctx)).toEqual(before);
    expect((await attemptRow(sms)).delivery_status).toBeNull();
  });

  it('rejects a callback signed for another attempt (the attempt id is in the signed URL)', async () => {
    const a = await notification([{ type: 'SMS', address: '+821011115555' }]);
    const b = await notification([{ type: 'SMS', address: '+821011116666' }]);
    const form = twilioStatusCallbackForm({ messageSid: smsSid(), status: 'delivered', to: '+821011115555' });
    const url = twilioStatusCallbackUrl(PUBLIC_BASE_URL, a.sms);
    const res = await request(app)
      .post(new URL(twilioStatusCallbackUrl(PUBLIC_BASE_URL, b.sms)).pathname)
      .set('X-Twilio-Signature', twilioCallbackSignature(TWILIO_AUTH_TOKEN, url, form))
      .type('form')
      .send(new URLSearchParams(form).toString());
    expectProblem(res, 401);
  });

  it('refuses every callback while TWILIO_AUTH_TOKEN is unset (fail closed)', async () => {
    const unconfigured = buildApp({ TWILIO_AUTH_TOKEN: '' });
    const { sms } = await notification([{ type: 'SMS', address: '+821011117777' }]);
    const res = await twilioCallback(sms, twilioStatusCallbackForm({ messageSid: smsSid(), status: 'delivered', to: '+821011117777' }), { app: unconfigured });
    expectProblem(res, 401);
  });

  it('suppresses a number Twilio reports as unknown (30005): BOUNCED, and the next SMS to it is SUPPRESSED', async () => {
    const { sms, recipientId } = await notification([{ type: 'SMS', address: '+821011118888' }]);
    await succeeded(sms, smsSid());
    const res = await twilioCallback(sms, twilioStatusCallbackForm({ messageSid: smsSid(), status: 'undelivered', errorCode: '30005', to: '+821011118888' }));
    expect(res.body).toEqual({ attemptId: sms, outcome: 'applied', deliveryStatus: 'BOUNCED' });
    expect(await attemptRow(sms)).toMatchObject({ delivery_status: 'BOUNCED', delivery_status_reason: 'twilio undelivered 30005' });
    expect(await suppressedRows('+821011118888')).toEqual([expect.objectContaining({ channel: 'SMS', reason: 'BOUNCED', source: 'vendor:twilio', attempt_id: sms })]);
    const next = await request(app).post('/api/v1/notifications').set('Idempotency-Key', uniq('k')).send({ recipientId, kind: 'SECURITY', title: 't', body: 'b' });
    expect(next.status).toBe(200);
    expect(next.body).toMatchObject({ status: 'SUPPRESSED', suppressionReason: 'SUPPRESSED_ADDRESS', dispatchedChannels: [] });
  });

  it('records a handset that was unreachable (30003) as UNDELIVERED without suppressing it', async () => {
    const { sms } = await notification([{ type: 'SMS', address: '+821011119999' }]);
    await succeeded(sms, smsSid());
    const res = await twilioCallback(sms, twilioStatusCallbackForm({ messageSid: smsSid(), status: 'failed', errorCode: '30003', to: '+821011119999' }));
    expect(res.body.deliveryStatus).toBe('UNDELIVERED');
    expect(await suppressedRows('+821011119999')).toEqual([]);
  });

  it('acknowledges progress statuses (sent) with 200 and changes nothing', async () => {
    const { sms } = await notification([{ type: 'SMS', address: '+821012220000' }]);
    await succeeded(sms, smsSid());
    const before = await rowCounts(ctx);
    const res = await twilioCallback(sms, twilioStatusCallbackForm({ messageSid: smsSid(), status: 'sent', to: '+821012220000' }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ attemptId: sms, outcome: 'ignored', deliveryStatus: null });
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it('moves a DISPATCHING attempt to SUCCEEDED on delivered: the vendor accepted it', async () => {
    const { sms, notificationId } = await notification([{ type: 'SMS', address: '+821012221111' }]);
    await ctx.database.db.updateTable('delivery_attempts').set({ status: 'DISPATCHING' }).where('id', '=', sms).execute();
    const sid = smsSid();
    const res = await twilioCallback(sms, twilioStatusCallbackForm({ messageSid: sid, status: 'delivered', to: '+821012221111' }));
    expect(res.body.outcome).toBe('applied');
    expect(await attemptRow(sms)).toMatchObject({ status: 'SUCCEEDED', delivery_status: 'DELIVERED', vendor_message_id: sid });
    const n = await ctx.database.db.selectFrom('notifications').select('status').where('id', '=', notificationId).executeTakeFirstOrThrow();
    expect(n.status).toBe('COMPLETED');
  });

  it.each([
    ['a JSON body', { contentType: 'application/json' }, 400],
  ])('answers %s with a 4xx problem and changes nothing', async (_name, options, status) => {
    const { sms } = await notification([{ type: 'SMS', address: '+821012222222' }]);
    const before = await rowCounts(ctx);
    const res = await twilioCallback(sms, twilioStatusCallbackForm({ messageSid: smsSid(), status: 'delivered', to: '+821012222222' }), options);
    expectProblem(res, status);
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it('answers a validly signed callback with a malformed attempt id or fields 400, an unknown or non-SMS attempt 404', async () => {
    const { email } = await notification([{ type: 'EMAIL', address: 'twilio-mismatch@example.com' }]);
    const before = await rowCounts(ctx);
    const form = twilioStatusCallbackForm({ messageSid: smsSid(), status: 'delivered', to: '+821012223333' });
    expectProblem(await twilioCallback('not-a-uuid', form), 400);
    expectProblem(await twilioCallback('0190f0e0-0000-7000-8000-000000000000', form), 404);
    expectProblem(await twilioCallback(email, form), 404);
    expectProblem(await twilioCallback(email, { ...form, ErrorCode: 'x\u0000' }), 400);
    expectProblem(await twilioCallback(email, { ...form, MessageSid: 'not-a-sid' }), 400);
    expect(await rowCounts(ctx)).toEqual(before);
  });
});

const bounce = (attemptId: string | undefined, recipient = 'x@example.com', messageId = 'ses-msg-x', bounceType: 'Permanent' | 'Transient' = 'Permanent') =>
  sns.envelope({ topicArn: TOPIC_ARN, timestamp: clock.now(), message: sesEvent({ eventType: 'Bounce', bounceType, recipient, messageId, ...(attemptId ? { attemptId } : {}) }) });

describe('POST /vendors/ses/sns', () => {

  it('confirms a subscription by fetching its SubscribeURL', async () => {
    const envelope = sns.envelope({ type: 'SubscriptionConfirmation', topicArn: TOPIC_ARN, timestamp: clock.now(), message: 'You have chosen to subscribe to the topic' });
    const res = await postSns(envelope);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ type: 'SubscriptionConfirmation', outcome: 'confirmed' });
    expect(sns.confirmedTokens).toContain(envelope.Token);
  });

  it('suppresses a hard-bounced address; the next notification to it is SUPPRESSED with SUPPRESSED_ADDRESS', async () => {
    const { email, recipientId } = await notification([{ type: 'EMAIL', address: 'Hard.Bounce@Example.com' }]);
    await succeeded(email, 'ses-msg-hard-1');
    const res = await postSns(bounce(email, 'Hard.Bounce@Example.com', 'ses-msg-hard-1'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ outcome: 'applied', attemptId: email, deliveryStatus: 'BOUNCED' });
    expect(await attemptRow(email)).toMatchObject({ status: 'SUCCEEDED', delivery_status: 'BOUNCED', delivery_status_reason: 'ses bounce Permanent/General' });
    expect(await suppressedRows('hard.bounce@example.com')).toEqual([expect.objectContaining({ channel: 'EMAIL', reason: 'BOUNCED', source: 'vendor:ses', attempt_id: email })]);
    expect(await vendorResults(email)).toEqual([expect.objectContaining({ outcome: 'SUCCEEDED', deliveryStatus: 'BOUNCED', deliveryStatusReason: 'ses bounce Permanent/General' })]);

    const next = await request(app).post('/api/v1/notifications').set('Idempotency-Key', uniq('k')).send({ recipientId, kind: 'SECURITY', title: 't', body: 'b' });
    expect(next.status).toBe(200);
    expect(next.body).toMatchObject({ status: 'SUPPRESSED', suppressionReason: 'SUPPRESSED_ADDRESS', dispatchedChannels: [] });
    const stored = await ctx.database.db.selectFrom('notifications').select(['status', 'suppression_reason']).where('id', '=', next.body.notificationId).executeTakeFirstOrThrow();
    expect(stored).toEqual({ status: 'SUPPRESSED', suppression_reason: 'SUPPRESSED_ADDRESS' });
  });

  it('answers a replayed message (same MessageId) 200 duplicate and changes nothing', async () => {
    const { email } = await notification([{ type: 'EMAIL', address: 'replayed@example.com' }]);
    await succeeded(email, 'ses-msg-replay-1');
    const envelope = sns.envelope({ topicArn: TOPIC_ARN, timestamp: clock.now(), message: sesEvent({ eventType: 'Delivery', recipient: 'replayed@example.com', messageId: 'ses-msg-replay-1', attemptId: email }) });
    expect((await postSns(envelope)).body.outcome).toBe('applied');
    const before = await rowCounts(ctx);
    const replay = await postSns(envelope);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ messageId: envelope.MessageId, outcome: 'duplicate' });
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it('verifies SignatureVersion 1 (SHA1) and finds the attempt by its SES message id when the tag is missing', async () => {
    const { email } = await notification([{ type: 'EMAIL', address: 'v1-delivered@example.com' }]);
    await succeeded(email, 'ses-msg-v1-1');
    const envelope = sns.envelope({
      topicArn: TOPIC_ARN,
      timestamp: clock.now(),
      signatureVersion: '1',
      subject: 'Amazon SES Email Event Notification',
      message: sesEvent({ eventType: 'Delivery', recipient: 'v1-delivered@example.com', messageId: 'ses-msg-v1-1' }),
    });
    const res = await postSns(envelope);
    expect(res.body).toMatchObject({ outcome: 'applied', attemptId: email, deliveryStatus: 'DELIVERED' });
  });

  it('records a transient bounce as UNDELIVERED and a complaint as COMPLAINED (suppressed)', async () => {
    const { email } = await notification([{ type: 'EMAIL', address: 'soft-then-complaint@example.com' }]);
    await succeeded(email, 'ses-msg-soft-1');
    expect((await postSns(bounce(email, 'soft-then-complaint@example.com', 'ses-msg-soft-1', 'Transient'))).body.deliveryStatus).toBe('UNDELIVERED');
    expect(await suppressedRows('soft-then-complaint@example.com')).toEqual([]);
    const complaint = sns.envelope({ topicArn: TOPIC_ARN, timestamp: clock.now(), message: sesEvent({ eventType: 'Complaint', recipient: 'soft-then-complaint@example.com', messageId: 'ses-msg-soft-1', attemptId: email }) });
    expect((await postSns(complaint)).body.deliveryStatus).toBe('COMPLAINED');
    expect(await suppressedRows('soft-then-complaint@example.com')).toEqual([expect.objectContaining({ reason: 'COMPLAINED' })]);
    // A late Delivery event does not undo the complaint.
    const late = sns.envelope({ topicArn: TOPIC_ARN, timestamp: clock.now(), message: sesEvent({ eventType: 'Delivery', recipient: 'soft-then-complaint@example.com', messageId: 'ses-msg-soft-1', attemptId: email }) });
    expect((await postSns(late)).body).toMatchObject({ outcome: 'ignored', deliveryStatus: 'COMPLAINED' });
  });

  it('ignores events that say nothing final (Open) and events of messages the hub did not send', async () => {
    const before = await rowCounts(ctx);
    const open = sns.envelope({ topicArn: TOPIC_ARN, timestamp: clock.now(), message: sesEvent({ eventType: 'Open', recipient: 'x@example.com', messageId: 'ses-msg-open' }) });
    expect((await postSns(open)).body).toMatchObject({ outcome: 'ignored' });
    const unknown = sns.envelope({ topicArn: TOPIC_ARN, timestamp: clock.now(), message: sesEvent({ eventType: 'Delivery', recipient: 'x@example.com', messageId: 'ses-msg-not-ours' }) });
    expect((await postSns(unknown)).body).toMatchObject({ outcome: 'ignored' });
    expect(await rowCounts(ctx)).toEqual(before);
  });

  describe('forged messages are 401 and change nothing', () => {
    const forged: [string, (email: string) => SnsEnvelope | Promise<SnsEnvelope>][] = [
      ['a tampered Message (signed before the change)', (email) => {
        const e = bounce(email, 'forged@example.com', 'ses-msg-forged');
        return { ...e, Message: e.Message.replace('Permanent', 'Transient') };
      }],
      ['a signature of another message', (email) => ({ ...bounce(email, 'forged@example.com', 'ses-msg-forged'), Signature: bounce(email, 'other@example.com', 'x').Signature })],
      ['a topic not in SES_SNS_TOPIC_ARNS', (email) => sns.envelope({ topicArn: 'arn:aws:sns:us-east-1:999999999999:attacker', timestamp: clock.now(), message: sesEvent({ eventType: 'Bounce', recipient: 'forged@example.com', messageId: 'm', attemptId: email }) })],
      ['a certificate URL on another host', (email) => ({ ...bounce(email, 'forged@example.com', 'ses-msg-forged'), SigningCertURL: 'https://sns.us-east-1.amazonaws.com.attacker.example/cert.pem' })],
      ['a Timestamp older than SNS_MAX_AGE_MS', (email) => sns.envelope({ topicArn: TOPIC_ARN, timestamp: new Date(clock.now().getTime() - 3_600_001), message: sesEvent({ eventType: 'Bounce', recipient: 'forged@example.com', messageId: 'm', attemptId: email }) })],
      ['a SignatureVersion that does not match the signature', (email) => ({ ...bounce(email, 'forged@example.com', 'ses-msg-forged'), SignatureVersion: '1' as const })],
    ];
    it.each(forged)('%s', async (_name, build) => {
      const { email } = await notification([{ type: 'EMAIL', address: 'forged@example.com' }]);
      await succeeded(email, 'ses-msg-forged');
      const before = await rowCounts(ctx);
      expectProblem(await postSns(await build(email)), 401);
      expect(await rowCounts(ctx)).toEqual(before);
      expect((await attemptRow(email)).delivery_status).toBeNull();
      expect(await suppressedRows('forged@example.com')).toEqual([]);
    });
  });

  it.each<[string, string, string | undefined]>([
    ['a body that is not JSON', 'not json', undefined],
    ['a JSON document without the SNS fields', JSON.stringify({ Type: 'Notification' }), undefined],
    ['an unknown message Type', JSON.stringify({ Type: 'Surprise' }), 'Surprise'],
    ['a header naming another Type than the body', 'envelope', 'SubscriptionConfirmation'],
    ['a validly signed Message that is not an SES event', 'not-ses', undefined],
  ])('answers %s with 400 problem+json and changes nothing', async (_name, body, messageType) => {
    const before = await rowCounts(ctx);
    let payload: SnsEnvelope | string = body;
    if (body === 'envelope') payload = bounce(undefined, 'x@example.com', 'ses-msg-bad');
    if (body === 'not-ses') payload = sns.envelope({ topicArn: TOPIC_ARN, timestamp: clock.now(), message: 'hello, not json' });
    expectProblem(await postSns(payload, messageType ? { messageType } : {}), 400);
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it('answers 503 while the signing certificate cannot be fetched, and takes the same message once it can', async () => {
    const fresh = buildApp(); // its own certificate cache
    const { email } = await notification([{ type: 'EMAIL', address: 'cert-down@example.com' }]);
    await succeeded(email, 'ses-msg-cert-down');
    const envelope = sns.envelope({ topicArn: TOPIC_ARN, timestamp: clock.now(), message: sesEvent({ eventType: 'Delivery', recipient: 'cert-down@example.com', messageId: 'ses-msg-cert-down', attemptId: email }) });
    sns.serveCertificate(false);
    try {
      expectProblem(await postSns(envelope, { app: fresh }), 503);
    } finally {
      sns.serveCertificate(true);
    }
    expect((await postSns(envelope, { app: fresh })).body).toMatchObject({ outcome: 'applied', deliveryStatus: 'DELIVERED' });
  });
});

describe('POST /deliveries/{attemptId}/ack (the hub format) after SUCCEEDED', () => {
  it('records a failure receipt as UNDELIVERED with a notify.vendor.result event; the same failure again changes nothing', async () => {
    const { email } = await notification([{ type: 'EMAIL', address: 'hub-format@example.com' }]);
    await succeeded(email, 'ses-msg-hub-1');
    const ack = (body: string, timestamp: number) =>
      request(app)
        .post(`/api/v1/deliveries/${email}/ack`)
        .set('X-Notification-Hub-Vendor', 'ses')
        .set('X-Notification-Hub-Timestamp', String(timestamp))
        .set('X-Notification-Hub-Signature', sign(WEBHOOK_SECRETS.ses, timestamp, email, body))
        .set('content-type', 'application/json')
        .send(body);
    const body = JSON.stringify({ success: false, failureReason: 'mailbox full' });
    const res = await ack(body, clock.now().getTime());
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ attemptId: email, status: 'SUCCEEDED', applied: true });
    expect(await attemptRow(email)).toMatchObject({ status: 'SUCCEEDED', delivery_status: 'UNDELIVERED', delivery_status_reason: 'mailbox full' });
    expect(await vendorResults(email)).toEqual([expect.objectContaining({ deliveryStatus: 'UNDELIVERED', deliveryStatusReason: 'mailbox full' })]);

    // Signed again with a new timestamp (not a signature replay): the same status is no change.
    const again = await ack(body, clock.now().getTime() + 1);
    expect(again.body).toEqual({ attemptId: email, status: 'SUCCEEDED', applied: false });
    expect(await vendorResults(email)).toHaveLength(1);
  });
});

describe('hostile input to the vendor receipt endpoints', () => {
  it('answers arbitrary bodies, content types, signatures and ids with 4xx problem+json, never 5xx, and changes nothing', async () => {
    const { sms, email } = await notification([{ type: 'SMS', address: '+821019990000' }, { type: 'EMAIL', address: 'hostile@example.com' }]);
    await succeeded(sms, smsSid());
    await succeeded(email, 'ses-msg-hostile');
    const valid = bounce(email);
    const before = await rowCounts(ctx);
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b)),
      fc.string({ maxLength: 500 }).map((v) => Buffer.from(v)),
      fc.json().map((v) => Buffer.from(v)),
      // A genuine envelope with one signed field replaced by anything (UnsubscribeURL is not signed).
      fc
        .tuple(fc.constantFrom(...Object.keys(valid).filter((k) => k !== 'UnsubscribeURL')), fc.oneof(fc.string({ maxLength: 200 }), fc.integer(), fc.constant(null), fc.constant('a'.repeat(20_000))))
        .map(([field, value]) => Buffer.from(JSON.stringify({ ...valid, [field]: value }))),
      // A Twilio form with anything in its fields.
      fc.dictionary(fc.constantFrom('MessageStatus', 'MessageSid', 'ErrorCode', 'To', 'x'), fc.string({ maxLength: 100 })).map((form) => Buffer.from(new URLSearchParams(form).toString())),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('twilio', 'sns'),
        bytes,
        fc.constantFrom('application/x-www-form-urlencoded', 'text/plain; charset=UTF-8', 'application/json', 'application/octet-stream'),
        fc.oneof(fc.constant(undefined), fc.string({ maxLength: 60 }), fc.base64String({ minLength: 28, maxLength: 28 })),
        fc.oneof(fc.constant(sms), fc.constant(email), fc.string({ minLength: 1, maxLength: 80 }).map(encodeURIComponent)),
        fc.constantFrom('Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation', 'Other'),
        async (endpoint, body, contentType, signature, id, messageType) => {
          let req =
            endpoint === 'twilio'
              ? request(app).post(`/api/v1/vendors/twilio/status/${id}`)
              : request(app).post('/api/v1/vendors/ses/sns').set('x-amz-sns-message-type', messageType);
          if (signature !== undefined) req = req.set('X-Twilio-Signature', signature);
          const res = await req.set('content-type', contentType).send(body);
          expect(res.status, `${endpoint} ${res.status} ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          expect(res.headers['content-type']).toContain('application/problem+json');
        },
      ),
      { numRuns: 300 },
    );
    expect(await rowCounts(ctx)).toEqual(before);
    expect(await attemptRow(email)).toMatchObject({ delivery_status: null });
  });
});

describe('caller authentication', () => {
  it('leaves both vendor endpoints to their own signatures when INGEST_JWKS_URL is set (no Bearer needed)', async () => {
    const { sms } = await notification([{ type: 'SMS', address: '+821019991111' }]);
    await succeeded(sms, smsSid());
    const authenticated = buildApp({ INGEST_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json', INGEST_JWT_ISSUER: 'https://issuer.test', INGEST_JWT_AUDIENCE: 'hub' });
    const res = await twilioCallback(sms, twilioStatusCallbackForm({ messageSid: smsSid(), status: 'delivered', to: '+821019991111' }), { app: authenticated });
    expect(res.status).toBe(200);
    expect(res.body.outcome).toBe('applied');
    const forged = await postSns({ ...bounce(undefined), Signature: 'AAAA' }, { app: authenticated });
    expect(forged.status).toBe(401);
    expect(forged.body.message).not.toMatch(/bearer/i);
  });
});
