import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, newId } from '@hub/db';
import { vendorResultSchema } from '@hub/messaging';
import { TcpProxy, createTestContext, type TestContext } from '@hub/testing';
import { WEBHOOK_SECRETS, ingestApp, rowCounts, sign, testClock } from './harness.ts';

const NOON_SEOUL = new Date('2026-03-10T03:00:00Z');

let ctx: TestContext;
let app: ReturnType<typeof ingestApp>['app'];
const clock = testClock(NOON_SEOUL);
let seq = 0;
const uniq = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  ({ app } = ingestApp(ctx, { clock: clock.now }));
});
afterAll(async () => {
  await ctx?.close();
});

/** A FANNED_OUT notification with EMAIL + SMS attempts, through the API. */
async function notification() {
  const id = uniq('user');
  await request(app)
    .put(`/api/v1/recipients/${id}`)
    .send({ channels: [{ type: 'EMAIL', address: 'ack@example.com' }, { type: 'SMS', address: '+821012345678' }] })
    .expect(201);
  const res = await request(app).post('/api/v1/notifications').set('Idempotency-Key', uniq('k')).send({ recipientId: id, kind: 'SECURITY', title: 't', body: 'b' });
  expect(res.status).toBe(202);
  const attempts = await ctx.database.db.selectFrom('delivery_attempts').select(['id', 'channel']).where('notification_id', '=', res.body.notificationId).orderBy('id').execute();
  return { notificationId: res.body.notificationId as string, attemptIds: attempts.map((a) => a.id) };
}

function ack(
  attemptId: string,
  rawBody: string,
  options: { vendor?: string; secret?: string; timestamp?: number | string; signature?: string; omit?: string[]; app?: typeof app } = {},
) {
  const timestamp = options.timestamp ?? clock.now().getTime();
  const headers: Record<string, string> = {
    'X-Notification-Hub-Vendor': options.vendor ?? 'ses',
    'X-Notification-Hub-Timestamp': String(timestamp),
    'X-Notification-Hub-Signature': options.signature ?? sign(options.secret ?? WEBHOOK_SECRETS.ses, timestamp, attemptId, rawBody),
    'content-type': 'application/json',
  };
  let req = request(options.app ?? app).post(`/api/v1/deliveries/${attemptId}/ack`);
  for (const [name, value] of Object.entries(headers)) if (!options.omit?.includes(name)) req = req.set(name, value);
  return req.send(rawBody);
}

const setStatus = (attemptId: string, status: 'DISPATCHING' | 'EXHAUSTED') =>
  ctx.database.db.updateTable('delivery_attempts').set({ status }).where('id', '=', attemptId).execute();

/** The attempt's DELIVERY_ACK audit rows, oldest first. */
const ackAudits = (attemptId: string) =>
  ctx.database.db.selectFrom('audit_events').selectAll().where('target_id', '=', attemptId).where('action', '=', 'DELIVERY_ACK').orderBy('id').execute();

describe('POST /deliveries/{attemptId}/ack: signature', () => {
  it('verifies a pretty-printed body over its exact bytes', async () => {
    const { attemptIds } = await notification();
    await setStatus(attemptIds[0]!, 'DISPATCHING');
    const pretty = JSON.stringify({ success: true, vendorMessageId: 'ses-1' }, null, 2);
    const res = await ack(attemptIds[0]!, pretty);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ attemptId: attemptIds[0], status: 'SUCCEEDED', applied: true });
  });

  it.each([
    ['an unknown vendor', { vendor: 'pigeon' }],
    ['a vendor without a configured secret (fail closed)', { vendor: 'kakao', secret: '' }],
    ['a wrong secret', { secret: 'not-the-secret' }],
    ['a signature without v1=', { signature: 'deadbeef' }],
    ['a non-numeric timestamp', { timestamp: 'yesterday' }],
    ['a timestamp 300 001 ms in the past', { timestamp: NOON_SEOUL.getTime() - 300_001 }],
    ['a timestamp 300 001 ms in the future', { timestamp: NOON_SEOUL.getTime() + 300_001 }],
    ['no vendor header', { omit: ['X-Notification-Hub-Vendor'] }],
    ['no signature header', { omit: ['X-Notification-Hub-Signature'] }],
    ['no timestamp header', { omit: ['X-Notification-Hub-Timestamp'] }],
  ])('rejects %s with 401 and changes nothing', async (_name, options) => {
    const { attemptIds } = await notification();
    const before = await rowCounts(ctx);
    const res = await ack(attemptIds[0]!, '{"success":true}', options);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHORIZED');
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it('accepts a timestamp exactly 300 000 ms old', async () => {
    const { attemptIds } = await notification();
    const res = await ack(attemptIds[0]!, '{"success":false,"failureReason":"transient: x"}', { timestamp: NOON_SEOUL.getTime() - 300_000 });
    expect(res.status).toBe(202);
  });

  it('rejects a body changed after signing', async () => {
    const { attemptIds } = await notification();
    const signature = sign(WEBHOOK_SECRETS.ses, NOON_SEOUL.getTime(), attemptIds[0]!, '{"success":false}');
    expect((await ack(attemptIds[0]!, '{"success":true}', { signature })).status).toBe(401);
  });

  it('rejects an identical signature seen again inside the window as a replay', async () => {
    const { attemptIds } = await notification();
    const body = '{"success":false,"failureReason":"transient: busy"}';
    expect((await ack(attemptIds[0]!, body)).status).toBe(202);
    const replay = await ack(attemptIds[0]!, body);
    expect(replay.status).toBe(401);
    expect(replay.body.message).toContain('replay');
  });
});

describe('POST /deliveries/{attemptId}/ack: receipts', () => {
  it('marks a DISPATCHING attempt SUCCEEDED with the vendor id, writes notify.vendor.result and a DELIVERY_ACK audit row', async () => {
    const { notificationId, attemptIds } = await notification();
    await setStatus(attemptIds[0]!, 'DISPATCHING');
    expect((await ack(attemptIds[0]!, '{"success":true,"vendorMessageId":"msg-1"}')).status).toBe(202);
    const attempt = await ctx.database.db.selectFrom('delivery_attempts').selectAll().where('id', '=', attemptIds[0]!).executeTakeFirstOrThrow();
    expect(attempt).toMatchObject({ status: 'SUCCEEDED', vendor_message_id: 'msg-1' });
    expect(attempt.completed_at?.toISOString()).toBe(NOON_SEOUL.toISOString());
    const events = await ctx.database.db.selectFrom('outbox').selectAll().where('topic', '=', ctx.topics.vendorResult).execute();
    const event = events.map((e) => vendorResultSchema.parse(e.payload)).find((e) => e.attemptId === attemptIds[0]);
    expect(event).toMatchObject({ notificationId, outcome: 'SUCCEEDED', vendorMessageId: 'msg-1', channel: 'EMAIL' });
    const audit = await ctx.database.db.selectFrom('audit_events').selectAll().where('target_id', '=', attemptIds[0]!).execute();
    expect(audit).toEqual([expect.objectContaining({ action: 'DELIVERY_ACK', actor: 'vendor:ses' })]);
    const n = await ctx.database.db.selectFrom('notifications').select('status').where('id', '=', notificationId).executeTakeFirstOrThrow();
    expect(n.status).toBe('FANNED_OUT');
  });

  it('keys notify.vendor.result by notification id, as the dispatchers do, so one notification keeps its order', async () => {
    const { notificationId, attemptIds } = await notification();
    expect((await ack(attemptIds[0]!, '{"success":true,"vendorMessageId":"key-1"}')).status).toBe(202);
    const rows = await ctx.database.db.selectFrom('outbox').selectAll().where('topic', '=', ctx.topics.vendorResult).execute();
    const row = rows.find((r) => r.payload.attemptId === attemptIds[0]);
    expect(row?.message_key).toBe(notificationId);
  });

  it('walks a PENDING attempt through DISPATCHING to SUCCEEDED on a success receipt', async () => {
    const { attemptIds } = await notification();
    const res = await ack(attemptIds[1]!, '{"success":true}', { vendor: 'twilio', secret: WEBHOOK_SECRETS.twilio });
    expect(res.body).toEqual({ attemptId: attemptIds[1], status: 'SUCCEEDED', applied: true });
    const attempt = await ctx.database.db.selectFrom('delivery_attempts').selectAll().where('id', '=', attemptIds[1]!).executeTakeFirstOrThrow();
    expect(attempt.dispatched_at).not.toBeNull();
  });

  it('completes the notification when its last attempt becomes final, also under concurrent receipts', async () => {
    const { notificationId, attemptIds } = await notification();
    const results = await Promise.all(attemptIds.map((id, i) => ack(id, `{"success":true,"vendorMessageId":"m${i}"}`, i === 0 ? {} : { vendor: 'twilio', secret: WEBHOOK_SECRETS.twilio })));
    expect(results.map((r) => r.status)).toEqual([202, 202]);
    const n = await ctx.database.db.selectFrom('notifications').select(['status', 'completed_at']).where('id', '=', notificationId).executeTakeFirstOrThrow();
    expect(n.status).toBe('COMPLETED');
    expect(n.completed_at).not.toBeNull();
  });

  it('records a failure receipt without changing the state (retries belong to the dispatcher)', async () => {
    const { attemptIds } = await notification();
    await setStatus(attemptIds[0]!, 'DISPATCHING');
    const res = await ack(attemptIds[0]!, '{"success":false,"failureReason":"permanent: mailbox gone"}');
    expect(res.body).toEqual({ attemptId: attemptIds[0], status: 'DISPATCHING', applied: true });
    const attempt = await ctx.database.db.selectFrom('delivery_attempts').selectAll().where('id', '=', attemptIds[0]!).executeTakeFirstOrThrow();
    expect(attempt).toMatchObject({ status: 'DISPATCHING', failure_reason: 'permanent: mailbox gone' });
  });

  it('ignores a receipt for an attempt that is already final (202, nothing changes)', async () => {
    const { attemptIds } = await notification();
    await setStatus(attemptIds[0]!, 'EXHAUSTED');
    const res = await ack(attemptIds[0]!, '{"success":true,"vendorMessageId":"late"}');
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ attemptId: attemptIds[0], status: 'EXHAUSTED', applied: false });
    const attempt = await ctx.database.db.selectFrom('delivery_attempts').selectAll().where('id', '=', attemptIds[0]!).executeTakeFirstOrThrow();
    expect(attempt).toMatchObject({ status: 'EXHAUSTED', vendor_message_id: null });
    const events = await ctx.database.db.selectFrom('outbox').select('payload').where('topic', '=', ctx.topics.vendorResult).execute();
    expect(events.some((e) => e.payload.attemptId === attemptIds[0])).toBe(false);
    // The audit row says what the receipt said, as the locked path writes it.
    const [audit] = await ackAudits(attemptIds[0]!);
    expect(audit).toMatchObject({ actor: 'vendor:ses', target_type: 'delivery_attempt' });
    expect(audit!.details).toEqual({ success: true, applied: false, status: 'EXHAUSTED', notificationId: expect.any(String), vendorMessageId: 'late' });
  });

  it('answers a repeated receipt on a SUCCEEDED attempt without waiting for its row lock, with its audit row', async () => {
    const { notificationId, attemptIds } = await notification();
    const attemptId = attemptIds[0]!;
    expect((await ack(attemptId, '{"success":true,"vendorMessageId":"first"}')).body).toMatchObject({ status: 'SUCCEEDED', applied: true });
    // A transaction holds the attempt's row lock meanwhile: a final attempt changes no more,
    // so the repeat is answered without it (the locked path would wait for this commit).
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let taken!: () => void;
    const lockTaken = new Promise<void>((resolve) => (taken = resolve));
    const holder = ctx.database.db.transaction().execute(async (tx) => {
      await tx.selectFrom('delivery_attempts').select('id').where('id', '=', attemptId).forUpdate().execute();
      taken();
      await held;
    });
    try {
      await lockTaken;
      const repeat = ack(attemptId, '{"success":true}').then((res) => res);
      const blocked = new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), 3_000).unref());
      const res = await Promise.race([repeat, blocked]);
      expect(res).not.toBe('blocked');
      if (res === 'blocked') return;
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ attemptId, status: 'SUCCEEDED', applied: false });
    } finally {
      release();
      await holder;
    }
    const audits = await ackAudits(attemptId);
    expect(audits.map((a) => a.details)).toEqual([
      { success: true, applied: true, status: 'SUCCEEDED', notificationId, vendorMessageId: 'first' },
      { success: true, applied: false, status: 'SUCCEEDED', notificationId, vendorMessageId: null },
    ]);
  });

  it('marks a SUCCEEDED attempt UNDELIVERED on a failure receipt, and ignores the same failure again', async () => {
    const { attemptIds } = await notification();
    const attemptId = attemptIds[0]!;
    expect((await ack(attemptId, '{"success":true,"vendorMessageId":"sent"}')).status).toBe(202);
    const failed = await ack(attemptId, '{"success":false,"failureReason":"bounced"}');
    expect(failed.body).toEqual({ attemptId, status: 'SUCCEEDED', applied: true });
    const again = await ack(attemptId, '{"success":false,"failureReason":"bounced again"}');
    expect(again.body).toEqual({ attemptId, status: 'SUCCEEDED', applied: false });
    const attempt = await ctx.database.db.selectFrom('delivery_attempts').selectAll().where('id', '=', attemptId).executeTakeFirstOrThrow();
    expect(attempt).toMatchObject({ status: 'SUCCEEDED', delivery_status: 'UNDELIVERED', delivery_status_reason: 'bounced' });
    expect((await ackAudits(attemptId)).map((a) => [a.details.success, a.details.applied, a.details.deliveryStatus])).toEqual([
      [true, true, undefined],
      [false, true, 'UNDELIVERED'],
      [false, false, 'UNDELIVERED'],
    ]);
  });

  it('answers many concurrent receipts (sharing statements) each with its own result and audit row', async () => {
    const attempts = await Promise.all([notification(), notification(), notification()]);
    const emails = attempts.map((n) => n.attemptIds[0]!);
    await Promise.all(emails.slice(1).map((id) => ack(id, '{"success":true,"vendorMessageId":"first"}')));
    // emails[0] is still PENDING: its first receipt applies, its repeats and the others' are ignored.
    const sent = Array.from({ length: 24 }, (_, i) => ({ attemptId: emails[i % 3]!, vendorMessageId: `burst-${i}` }));
    const results = await Promise.all(sent.map((r) => ack(r.attemptId, JSON.stringify({ success: true, vendorMessageId: r.vendorMessageId }))));
    expect(results.map((r) => r.status)).toEqual(sent.map(() => 202));
    expect(results.filter((r) => r.body.applied)).toHaveLength(1);
    expect(results.every((r, i) => r.body.attemptId === sent[i]!.attemptId && r.body.status === 'SUCCEEDED')).toBe(true);
    const burst = (await Promise.all(emails.map(ackAudits))).flat().filter((a) => String(a.details.vendorMessageId).startsWith('burst-'));
    expect(burst.map((a) => a.details.vendorMessageId).sort()).toEqual(sent.map((r) => r.vendorMessageId).sort());
  });

  it("answers 404 and changes nothing when the signing vendor does not deliver the attempt's channel", async () => {
    const { attemptIds } = await notification();
    await setStatus(attemptIds[0]!, 'DISPATCHING');
    const before = await rowCounts(ctx);
    // attemptIds[0] is the EMAIL attempt: a valid Twilio signature must not settle it.
    const res = await ack(attemptIds[0]!, '{"success":true,"vendorMessageId":"cross"}', { vendor: 'twilio', secret: WEBHOOK_SECRETS.twilio });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');
    const attempt = await ctx.database.db.selectFrom('delivery_attempts').selectAll().where('id', '=', attemptIds[0]!).executeTakeFirstOrThrow();
    expect(attempt).toMatchObject({ status: 'DISPATCHING', vendor_message_id: null });
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it('answers 404 for an unknown attempt and 400 for a signed but invalid body', async () => {
    expect((await ack(newId(), '{"success":true,"vendorMessageId":"unknown-attempt"}')).status).toBe(404);
    const { attemptIds } = await notification();
    const before = await rowCounts(ctx);
    const notJson = await ack(attemptIds[0]!, '{"success":');
    expect(notJson.status).toBe(400);
    const wrongType = await ack(attemptIds[0]!, '{"success":"yes"}', { timestamp: NOON_SEOUL.getTime() + 1 });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.errors.map((e: { field: string }) => e.field)).toEqual(['body.success']);
    expect(await rowCounts(ctx)).toEqual(before);
  });
});

describe('POST /deliveries/{attemptId}/ack: receipts are bound to their attempt and remembered once processed', () => {
  const audits = async (attemptId: string) =>
    (await ctx.database.db.selectFrom('audit_events').select('action').where('target_id', '=', attemptId).execute()).filter((a) => a.action === 'DELIVERY_ACK');

  it('rejects a receipt signed for attempt A and sent to attempt B with 401, changing nothing', async () => {
    const a = await notification();
    const b = await notification();
    const body = '{"success":true,"vendorMessageId":"for-a"}';
    const before = await rowCounts(ctx);
    const res = await ack(b.attemptIds[0]!, body, { signature: sign(WEBHOOK_SECRETS.ses, clock.now().getTime(), a.attemptIds[0]!, body) });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'UNAUTHORIZED', message: 'signature mismatch' });
    expect(await rowCounts(ctx)).toEqual(before);
    expect((await ack(a.attemptIds[0]!, body)).status).toBe(202);
  });

  it('accepts two genuine receipts with the same body in the same millisecond for different attempts', async () => {
    const a = await notification();
    const b = await notification();
    const body = '{"success":true}';
    const results = await Promise.all([ack(a.attemptIds[0]!, body), ack(b.attemptIds[0]!, body)]);
    expect(results.map((r) => r.status)).toEqual([202, 202]);
    expect(results.map((r) => r.body.applied)).toEqual([true, true]);
  });

  it('applies and counts only one of two identical receipts arriving at once', async () => {
    const { attemptIds } = await notification();
    const body = '{"success":false,"failureReason":"transient: twice"}';
    const results = await Promise.all([ack(attemptIds[0]!, body), ack(attemptIds[0]!, body)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0]).toBe(202);
    // 409 while the first is still being processed, 401 (a replay) once it was.
    expect([401, 409]).toContain(statuses[1]);
    const loser = results.find((r) => r.status !== 202)!;
    expect(loser.body.code).toBe(loser.status === 409 ? 'REQUEST_IN_PROGRESS' : 'UNAUTHORIZED');
    expect(await audits(attemptIds[0]!)).toHaveLength(1);
  });

  it.each([
    ['a key written twice (JSON.parse would keep the last)', Buffer.from('{"success":false,"success":true}'), 'body.success'],
    ['bytes that are not UTF-8', Buffer.concat([Buffer.from('{"success":true,"vendorMessageId":"m'), Buffer.from([0xff]), Buffer.from('"}')]), 'body'],
  ])('answers a signed receipt with %s 400 and applies nothing', async (_name, rawBody, field) => {
    const { attemptIds } = await notification();
    const before = await rowCounts(ctx);
    const timestamp = clock.now().getTime();
    const res = await request(app)
      .post(`/api/v1/deliveries/${attemptIds[0]}/ack`)
      .set('X-Notification-Hub-Vendor', 'ses')
      .set('X-Notification-Hub-Timestamp', String(timestamp))
      .set('X-Notification-Hub-Signature', sign(WEBHOOK_SECRETS.ses, timestamp, attemptIds[0]!, rawBody))
      // octet-stream: superagent would JSON-encode a Buffer sent as json.
      .type('application/octet-stream')
      .send(rawBody);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it('still rejects a receipt answered 4xx when it comes again (a client error is final)', async () => {
    const { attemptIds } = await notification();
    expect((await ack(attemptIds[0]!, '{"success":"maybe"}')).status).toBe(400);
    const again = await ack(attemptIds[0]!, '{"success":"maybe"}');
    expect(again.status).toBe(401);
    expect(again.body.message).toContain('replay');
  });

  it('answers 503 UNAVAILABLE with Retry-After when Redis is unreachable, so the vendor retries', async () => {
    const { attemptIds } = await notification();
    const proxy = new TcpProxy({ host: new URL(ctx.redisUrl).hostname, port: Number(new URL(ctx.redisUrl).port || 6379) });
    await proxy.start();
    // No offline queue, no retries: once the proxy is cut a command fails at once.
    const redis = new Redis(proxy.port, '127.0.0.1', { keyPrefix: ctx.redisPrefix, maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
    try {
      await redis.connect();
      const proxied = ingestApp(ctx, { clock: clock.now, redis }).app;
      await proxy.cut();
      const res = await ack(attemptIds[0]!, '{"success":true}', { app: proxied });
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('UNAVAILABLE');
      expect(res.headers['retry-after']).toBe('1');
      expect(await audits(attemptIds[0]!)).toHaveLength(0);
    } finally {
      redis.disconnect();
      await proxy.cut();
    }
  });

  it('does not remember a receipt whose processing failed with a 5xx: the same receipt again is applied', async () => {
    const { attemptIds } = await notification();
    // An app whose Postgres connections run through a proxy this test can cut.
    const url = new URL(ctx.databaseUrl);
    const proxy = new TcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    await proxy.start();
    url.host = `127.0.0.1:${proxy.port}`;
    const database = createDb({ url: url.toString(), max: 2, applicationName: 'test-ack-proxied' });
    try {
      const proxied = ingestApp(ctx, { clock: clock.now, database }).app;
      const body = '{"success":true,"vendorMessageId":"after-outage"}';
      await proxy.cut();
      const failed = await ack(attemptIds[0]!, body, { app: proxied });
      expect(failed.status).toBe(500);
      expect(await audits(attemptIds[0]!)).toHaveLength(0);
      await proxy.restore();
      const retried = await ack(attemptIds[0]!, body, { app: proxied });
      expect(retried.status).toBe(202);
      expect(retried.body).toEqual({ attemptId: attemptIds[0], status: 'SUCCEEDED', applied: true });
      // Processed now: from here on it is a replay.
      expect((await ack(attemptIds[0]!, body, { app: proxied })).status).toBe(401);
      expect(await audits(attemptIds[0]!)).toHaveLength(1);
    } finally {
      await database.close();
      await proxy.cut();
    }
  });
});
