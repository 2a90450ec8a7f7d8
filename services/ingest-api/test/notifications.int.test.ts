import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryRequestedSchema, notificationFannedOutSchema } from '@hub/messaging';
import { v7 } from 'uuid';
import { createTestContext, pollUntil, type TestContext } from '@hub/testing';
import { Redis } from 'ioredis';
import { createMetricsRegistry, Readiness } from '@hub/observability';
import { createApp } from '../src/app.ts';
import { releaseIdempotencyKey } from '../src/idempotency.ts';
import { consumeRateLimit } from '../src/rate-limit.ts';
import { ingestApp, ingestConfig, rowCounts, testClock } from './harness.ts';

const NOON_SEOUL = new Date('2026-03-10T03:00:00Z');
const NIGHT_SEOUL = new Date('2026-03-10T14:00:00Z'); // 23:00 KST

let ctx: TestContext;
let app: ReturnType<typeof ingestApp>['app'];
let registry: ReturnType<typeof ingestApp>['registry'];
const clock = testClock(NOON_SEOUL);
let seq = 0;
const uniq = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;
const token = (n: number | string) => `device-token-${n}-${'x'.repeat(32)}`;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  ({ app, registry } = ingestApp(ctx, { clock: clock.now }));
});
afterAll(async () => {
  await ctx?.close();
});

async function recipient(options: { channels?: { type: string; address: string }[]; devices?: number; timezone?: string } = {}) {
  const id = uniq('user');
  const res = await request(app)
    .put(`/api/v1/recipients/${id}`)
    .send({
      channels: options.channels ?? [
        { type: 'EMAIL', address: 'someone@example.com' },
        { type: 'SMS', address: '+821012345678' },
        { type: 'KAKAO_ALIMTALK', address: '+821012345678' },
      ],
      ...(options.timezone ? { timezone: options.timezone } : {}),
    });
  expect(res.status).toBe(201);
  for (let i = 0; i < (options.devices ?? 1); i++) {
    const device = await request(app).post('/api/v1/devices').send({ recipientId: id, platform: 'ANDROID', token: token(`${id}-${i}`) });
    expect(device.status).toBe(201);
  }
  return id;
}

const send = (body: Record<string, unknown>, key: string = uniq('key')) =>
  request(app).post('/api/v1/notifications').set('Idempotency-Key', key).send(body);

const direct = (recipientId: string, kind = 'SECURITY', extra: Record<string, unknown> = {}) => ({
  recipientId,
  kind,
  title: 'Sign-in from a new device',
  body: 'Was this you?',
  ...extra,
});

describe('POST /notifications: fan-out', () => {
  it('fans out to every channel and writes notification, attempts, outbox rows and audit in one go', async () => {
    clock.set(NOON_SEOUL);
    const id = await recipient();
    const res = await send(direct(id, 'MARKETING'));
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      notificationId: expect.any(String),
      status: 'FANNED_OUT',
      dispatchedChannels: ['PUSH', 'EMAIL', 'SMS', 'KAKAO_ALIMTALK'],
      suppressionReason: null,
    });
    const { db } = ctx.database;
    const notification = await db.selectFrom('notifications').selectAll().where('id', '=', res.body.notificationId).executeTakeFirstOrThrow();
    expect(notification).toMatchObject({ status: 'FANNED_OUT', recipient_id: id, kind: 'MARKETING' });
    const attempts = await db.selectFrom('delivery_attempts').selectAll().where('notification_id', '=', notification.id).orderBy('id').execute();
    expect(attempts.map((a) => [a.channel, a.status, a.priority, a.retry_count])).toEqual([
      ['PUSH', 'PENDING', false, 0],
      ['EMAIL', 'PENDING', false, 0],
      ['SMS', 'PENDING', false, 0],
      ['KAKAO_ALIMTALK', 'PENDING', false, 0],
    ]);
    expect(attempts.every((a) => a.rendered_title === 'Sign-in from a new device' && a.rendered_body === 'Was this you?')).toBe(true);
    expect(attempts[1]!.address).toBe('someone@example.com');
    expect(attempts[2]!.sms_segments).toBe(1);
    const outbox = await db.selectFrom('outbox').selectAll().where('message_key', '=', id).execute();
    const deliveries = outbox.filter((o) => o.payload.type === 'delivery.requested');
    expect(deliveries).toHaveLength(4);
    for (const row of deliveries) {
      const event = deliveryRequestedSchema.parse(row.payload);
      const attempt = attempts.find((a) => a.id === event.attemptId)!;
      expect(row.topic).toBe(ctx.topics.delivery(attempt.channel, false));
      expect(event).toMatchObject({ notificationId: notification.id, channel: attempt.channel, priority: false, retryCount: 0 });
    }
    const fannedOut = outbox.filter((o) => o.topic === ctx.topics.fannedOut);
    expect(fannedOut).toHaveLength(1);
    expect(notificationFannedOutSchema.parse(fannedOut[0]!.payload).attempts).toHaveLength(4);
    const audit = await db.selectFrom('audit_events').selectAll().where('target_id', '=', notification.id).execute();
    expect(audit.map((a) => a.action)).toEqual(['NOTIFICATION_ACCEPTED']);
  });

  it('puts SECURITY and TRANSACTIONAL deliveries on the priority lane', async () => {
    const id = await recipient({ channels: [{ type: 'EMAIL', address: 'p@example.com' }], devices: 0 });
    for (const kind of ['SECURITY', 'TRANSACTIONAL']) {
      const res = await send(direct(id, kind));
      expect(res.status).toBe(202);
      const rows = await ctx.database.db.selectFrom('delivery_attempts').select(['id', 'priority']).where('notification_id', '=', res.body.notificationId).execute();
      expect(rows.map((r) => r.priority)).toEqual([true]);
      const outbox = await ctx.database.db.selectFrom('outbox').select('topic').where('message_key', '=', id).where('topic', '=', ctx.topics.delivery('EMAIL', true)).execute();
      expect(outbox.length).toBeGreaterThan(0);
    }
  });

  it('lists PUSH once per active device and skips unregistered devices', async () => {
    const id = await recipient({ channels: [], devices: 3 });
    const devices = await ctx.database.db.selectFrom('device_tokens').select('id').where('recipient_id', '=', id).orderBy('id').execute();
    expect((await request(app).delete(`/api/v1/devices/${devices[0]!.id}`)).status).toBe(204);
    const res = await send(direct(id));
    expect(res.body.dispatchedChannels).toEqual(['PUSH', 'PUSH']);
    const attempts = await ctx.database.db.selectFrom('delivery_attempts').select('device_token_id').where('notification_id', '=', res.body.notificationId).orderBy('id').execute();
    expect(attempts.map((a) => a.device_token_id).sort()).toEqual([devices[1]!.id, devices[2]!.id].sort());
  });

  it('answers 200 SUPPRESSED with QUIET_HOURS at night and writes the notification without attempts', async () => {
    const id = await recipient();
    clock.set(NIGHT_SEOUL);
    try {
      const res = await send(direct(id, 'MARKETING'));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ notificationId: expect.any(String), status: 'SUPPRESSED', dispatchedChannels: [], suppressionReason: 'QUIET_HOURS' });
      const row = await ctx.database.db.selectFrom('notifications').selectAll().where('id', '=', res.body.notificationId).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ status: 'SUPPRESSED', suppression_reason: 'QUIET_HOURS' });
      const attempts = await ctx.database.db.selectFrom('delivery_attempts').select('id').where('notification_id', '=', row.id).execute();
      expect(attempts).toEqual([]);
      const audit = await ctx.database.db.selectFrom('audit_events').select('action').where('target_id', '=', row.id).execute();
      expect(audit.map((a) => a.action)).toEqual(['NOTIFICATION_SUPPRESSED']);
    } finally {
      clock.set(NOON_SEOUL);
    }
  });

  it('sends SECURITY at night without KAKAO_ALIMTALK', async () => {
    const id = await recipient();
    clock.set(NIGHT_SEOUL);
    try {
      const res = await send(direct(id, 'SECURITY'));
      expect(res.status).toBe(202);
      expect(res.body.dispatchedChannels).toEqual(['PUSH', 'EMAIL', 'SMS']);
    } finally {
      clock.set(NOON_SEOUL);
    }
  });

  it('defers with onQuietHours DEFER: 202 SCHEDULED, delivery rows available at the end of quiet hours', async () => {
    const id = await recipient();
    clock.set(NIGHT_SEOUL);
    try {
      const res = await send(direct(id, 'SERVICE', { onQuietHours: 'DEFER' }));
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ status: 'SCHEDULED', scheduledFor: '2026-03-10T23:00:00.000Z', suppressionReason: null });
      const outbox = await ctx.database.db.selectFrom('outbox').selectAll().where('message_key', '=', id).execute();
      const deliveries = outbox.filter((o) => o.payload.type === 'delivery.requested');
      expect(deliveries).toHaveLength(4);
      expect(deliveries.every((o) => o.available_at.toISOString() === '2026-03-10T23:00:00.000Z')).toBe(true);
      const row = await ctx.database.db.selectFrom('notifications').select(['status', 'scheduled_for']).where('id', '=', res.body.notificationId).executeTakeFirstOrThrow();
      expect(row.status).toBe('SCHEDULED');
      expect(row.scheduled_for?.toISOString()).toBe('2026-03-10T23:00:00.000Z');
    } finally {
      clock.set(NOON_SEOUL);
    }
  });

  it('uses the recipient timezone: 23:00 in Seoul is daytime in London', async () => {
    const id = await recipient({ timezone: 'Europe/London' });
    clock.set(NIGHT_SEOUL);
    try {
      expect((await send(direct(id, 'MARKETING'))).status).toBe(202);
    } finally {
      clock.set(NOON_SEOUL);
    }
  });

  it('suppresses an opted-out kind with OPT_OUT and a recipient without channels with NO_ELIGIBLE_CHANNEL', async () => {
    const id = await recipient();
    expect((await request(app).put(`/api/v1/users/${id}/preferences`).send({ kind: 'MARKETING', allowed: false })).status).toBe(200);
    const optOut = await send(direct(id, 'MARKETING'));
    expect(optOut.status).toBe(200);
    expect(optOut.body.suppressionReason).toBe('OPT_OUT');
    const empty = await recipient({ channels: [], devices: 0 });
    const none = await send(direct(empty, 'SECURITY'));
    expect(none.status).toBe(200);
    expect(none.body.suppressionReason).toBe('NO_ELIGIBLE_CHANNEL');
  });

  it('keeps only the preferred channels of the kind', async () => {
    const id = await recipient();
    await request(app).put(`/api/v1/users/${id}/preferences`).send({ kind: 'SERVICE', preferredChannels: ['SMS', 'EMAIL'] }).expect(200);
    const res = await send(direct(id, 'SERVICE'));
    expect(res.body.dispatchedChannels).toEqual(['EMAIL', 'SMS']);
  });

  it('counts accepted, deferred and suppressed notifications by kind', async () => {
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/ingest_notifications_total\{[^}]*kind="MARKETING"[^}]*outcome="fanned_out"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/ingest_notifications_total\{[^}]*kind="MARKETING"[^}]*outcome="suppressed"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/ingest_notifications_total\{[^}]*kind="SERVICE"[^}]*outcome="scheduled"[^}]*\} 1/);
    expect(metrics).toMatch(/http_requests_total\{[^}]*route="\/api\/v1\/notifications"[^}]*status="202"[^}]*\} [1-9]/);
  });

  it('answers 404 RECIPIENT_NOT_FOUND for an unknown recipient and writes nothing', async () => {
    const before = await rowCounts(ctx);
    const res = await send(direct(uniq('ghost')));
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status: 404, code: 'RECIPIENT_NOT_FOUND', path: '/api/v1/notifications', timestamp: expect.any(String) });
    expect(await rowCounts(ctx)).toEqual(before);
  });
});

describe('POST /notifications: validation', () => {
  it.each([
    ['no Idempotency-Key', undefined, 'headers.idempotency-key'],
    ['an empty Idempotency-Key', '', 'headers.idempotency-key'],
    ['an Idempotency-Key over 128 characters', 'k'.repeat(129), 'headers.idempotency-key'],
  ])('rejects %s with 400 naming the header', async (_name, key, field) => {
    let req = request(app).post('/api/v1/notifications');
    if (key !== undefined) req = req.set('Idempotency-Key', key);
    const res = await req.send(direct('someone'));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('BAD_REQUEST');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('accepts an Idempotency-Key of exactly 128 characters', async () => {
    const id = await recipient({ channels: [{ type: 'EMAIL', address: 'k@example.com' }], devices: 0 });
    expect((await send(direct(id), `${uniq('k')}${'k'.repeat(128)}`.slice(-128))).status).toBe(202);
  });

  it.each([
    ['no title and body without templateKey', { recipientId: 'u', kind: 'SECURITY' }, ['body.title', 'body.body']],
    ['both templateKey and title/body', { recipientId: 'u', kind: 'SECURITY', title: 't', body: 'b', templateKey: 'a.b' }, ['body.templateKey']],
    ['an unknown kind', { recipientId: 'u', kind: 'SPAM', title: 't', body: 'b' }, ['body.kind']],
    ['a blank recipientId', { recipientId: '   ', kind: 'SECURITY', title: 't', body: 'b' }, ['body.recipientId']],
    ['a title over 200 characters', { recipientId: 'u', kind: 'SECURITY', title: 't'.repeat(201), body: 'b' }, ['body.title']],
    ['a body over 4000 characters', { recipientId: 'u', kind: 'SECURITY', title: 't', body: 'b'.repeat(4001) }, ['body.body']],
    ['a non-string payload value', { recipientId: 'u', kind: 'SECURITY', templateKey: 'a.b', payload: { n: 1 } }, ['body.payload.n']],
    ['an unknown onQuietHours', { recipientId: 'u', kind: 'SECURITY', title: 't', body: 'b', onQuietHours: 'LATER' }, ['body.onQuietHours']],
    ['a malformed templateKey', { recipientId: 'u', kind: 'SECURITY', templateKey: 'Auth' }, ['body.templateKey']],
  ])('rejects %s with 400 naming the fields', async (_name, body, fields) => {
    const before = await rowCounts(ctx);
    const res = await send(body);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining(fields));
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it('answers 400 to a body that is not JSON and 413 PAYLOAD_TOO_LARGE above 1 MiB', async () => {
    const notJson = await request(app).post('/api/v1/notifications').set('Idempotency-Key', uniq('k')).set('content-type', 'application/json').send('{"recipientId":');
    expect(notJson.status).toBe(400);
    const big = await send({ ...direct('u'), payload: { blob: 'x'.repeat(1_100_000) } });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('POST /notifications: idempotency', () => {
  it('answers a repeated key with 409 DUPLICATE_REQUEST naming the original notification', async () => {
    const id = await recipient({ channels: [{ type: 'EMAIL', address: 'i@example.com' }], devices: 0 });
    const key = uniq('key');
    const first = await send(direct(id), key);
    expect(first.status).toBe(202);
    const second = await send(direct(id), key);
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ code: 'DUPLICATE_REQUEST', notificationId: first.body.notificationId });
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/ingest_idempotency_conflicts_total\{[^}]*\} [1-9]/);
  });

  it('lets exactly one of many concurrent requests with one key through', async () => {
    const id = await recipient({ channels: [{ type: 'EMAIL', address: 'c@example.com' }], devices: 0 });
    const key = uniq('key');
    const results = await Promise.all(Array.from({ length: 20 }, () => send(direct(id), key)));
    const accepted = results.filter((r) => r.status === 202);
    expect(accepted).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(19);
    expect(new Set(results.filter((r) => r.status === 409).map((r) => r.body.notificationId))).toEqual(new Set([accepted[0]!.body.notificationId]));
    const rows = await ctx.database.db.selectFrom('notifications').select('id').where('idempotency_key', '=', key).execute();
    expect(rows).toHaveLength(1);
  });

  it('still refuses a used key after Redis lost it (Postgres is the guarantee)', async () => {
    const id = await recipient({ channels: [{ type: 'EMAIL', address: 'f@example.com' }], devices: 0 });
    const key = uniq('key');
    const first = await send(direct(id), key);
    expect(first.status).toBe(202);
    // Flush only this file's keys: the Redis server is shared (ioredis does not prefix KEYS
    // patterns, so the pattern names the prefix itself).
    const keys = await ctx.redis.keys(`${ctx.redisPrefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    await ctx.redis.del(...keys.map((k) => k.slice(ctx.redisPrefix.length)));
    const again = await send(direct(id), key);
    expect(again.status).toBe(409);
    expect(again.body.notificationId).toBe(first.body.notificationId);
    // …and the fast path knows it again.
    const third = await send(direct(id), key);
    expect(third.body.notificationId).toBe(first.body.notificationId);
    const rows = await ctx.database.db.selectFrom('notifications').select('id').where('idempotency_key', '=', key).execute();
    expect(rows).toHaveLength(1);
  });

  it('releases the key when the request fails before commit, so the caller can retry', async () => {
    const key = uniq('key');
    const ghost = uniq('later');
    const failed = await send(direct(ghost), key);
    expect(failed.status).toBe(404);
    expect(await ctx.redis.exists(`idem:${key}`)).toBe(0);
    const idempotencyRows = await ctx.database.db.selectFrom('idempotency_keys').select('key').where('key', '=', key).execute();
    expect(idempotencyRows).toEqual([]);
    await request(app).put(`/api/v1/recipients/${ghost}`).send({ channels: [{ type: 'EMAIL', address: 'l@example.com' }] }).expect(201);
    const retried = await send(direct(ghost), key);
    expect(retried.status).toBe(202);
  });

  it('blocks a key claimed by a request that died before commit only until its claim expires, then accepts the retry', async () => {
    const id = await recipient({ channels: [{ type: 'EMAIL', address: 'z@example.com' }], devices: 0 });
    const key = uniq('key');
    // What a killed process leaves behind: a pending claim in Redis, no Postgres row.
    const dead = v7();
    await ctx.redis.set(`idem:${key}`, `p:${dead}`, 'PX', 4_000);
    const meanwhile = await send(direct(id), key);
    expect(meanwhile.status).toBe(409);
    expect(meanwhile.body.code).toBe('REQUEST_IN_PROGRESS');
    expect(meanwhile.body.notificationId).toBeUndefined();
    expect(Number(meanwhile.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // The retry after Retry-After: the dead claim has expired (or expires while it waits).
    await pollUntil('the dead claim expired', async () => (await ctx.redis.exists(`idem:${key}`)) === 0, { timeoutMs: 6_000 });
    const retried = await send(direct(id), key);
    expect(retried.status).toBe(202);
    expect(retried.body.notificationId).not.toBe(dead);
    expect(await ctx.redis.get(`idem:${key}`)).toBe(`c:${retried.body.notificationId}`);
  });

  it('never names an uncommitted notification: a repeat while the first is in flight waits for its commit', async () => {
    const id = await recipient({ channels: [{ type: 'EMAIL', address: 'y@example.com' }], devices: 0 });
    const key = uniq('key');
    const inFlight = v7();
    // The first request has claimed the key and is still writing.
    await ctx.redis.set(`idem:${key}`, `p:${inFlight}`, 'PX', 10_000);
    const started = Date.now();
    const undecided = await send(direct(id), key);
    expect(undecided.status).toBe(409);
    expect(undecided.body).toMatchObject({ code: 'REQUEST_IN_PROGRESS' });
    expect(undecided.body.notificationId).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    // It commits: from then on the repeat names it.
    await ctx.database.db.insertInto('idempotency_keys').values({ key, notification_id: inFlight }).execute();
    const decided = await send(direct(id), key);
    expect(decided.status).toBe(409);
    expect(decided.body).toMatchObject({ code: 'DUPLICATE_REQUEST', notificationId: inFlight });
  });

  it('names only committed notifications while Redis loses its idempotency entries under concurrent repeats', async () => {
    const keys = Array.from({ length: 8 }, () => uniq('flush'));
    // A recipient per key: every request that gets a claim takes a rate-limit slot until it loses.
    const recipients = new Map(await Promise.all(keys.map(async (k) => [k, await recipient({ channels: [{ type: 'EMAIL', address: 'flush@example.com' }], devices: 0 })] as const)));
    let flushing = true;
    const flusher = (async () => {
      while (flushing) {
        await ctx.redis.del(...keys.map((k) => `idem:${k}`));
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const results = await Promise.all(keys.flatMap((key) => Array.from({ length: 25 }, () => send(direct(recipients.get(key)!), key).then((res) => ({ key, res })))));
    flushing = false;
    await flusher;
    const stored = await ctx.database.db.selectFrom('notifications').select(['id', 'idempotency_key']).where('idempotency_key', 'in', keys).execute();
    expect(stored).toHaveLength(keys.length);
    const committed = new Map(stored.map((n) => [n.idempotency_key, n.id]));
    for (const { key, res } of results) {
      expect([202, 409], JSON.stringify(res.body)).toContain(res.status);
      if (res.status === 202) expect(res.body.notificationId).toBe(committed.get(key));
      else if (res.body.code === 'DUPLICATE_REQUEST') expect(res.body.notificationId).toBe(committed.get(key));
      else expect(res.body.code).toBe('REQUEST_IN_PROGRESS');
    }
  });
});

describe('POST /notifications: rate limit', () => {
  it('admits exactly the limit out of 50 concurrent requests and answers the rest 429 with Retry-After', async () => {
    const id = await recipient({ channels: [{ type: 'SMS', address: '+821099998888' }], devices: 0 });
    const results = await Promise.all(Array.from({ length: 50 }, () => send(direct(id))));
    const accepted = results.filter((r) => r.status === 202);
    const denied = results.filter((r) => r.status === 429);
    expect(accepted).toHaveLength(5);
    expect(denied).toHaveLength(45);
    for (const res of denied) {
      expect(res.body).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', channel: 'SMS' });
      expect(res.body.retryAfterMillis).toBeGreaterThan(0);
      expect(res.body.retryAfterMillis).toBeLessThanOrEqual(60_000);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    const rows = await ctx.database.db.selectFrom('notifications').select('id').where('recipient_id', '=', id).execute();
    expect(rows).toHaveLength(5);
    expect(await registry.metrics()).toMatch(/ingest_rate_limit_denials_total\{[^}]*channel="SMS"[^}]*\} 45/);
  });

  it('is all-or-nothing: a denial by SMS consumes nothing on EMAIL, and the window slides', async () => {
    const id = await recipient({ channels: [{ type: 'EMAIL', address: 'r@example.com' }, { type: 'SMS', address: '+821077776666' }], devices: 0 });
    for (let i = 0; i < 5; i++) expect((await send(direct(id))).status).toBe(202);
    clock.advance(10_000);
    const denied = await send(direct(id));
    expect(denied.status).toBe(429);
    expect(denied.body.channel).toBe('SMS');
    expect(denied.body.retryAfterMillis).toBe(50_000);
    expect(denied.headers['retry-after']).toBe('50');
    expect(await ctx.redis.zcard(`rl:{${id}}:EMAIL`)).toBe(5);
    // An EMAIL-only sender is still under its own limit.
    await request(app).put(`/api/v1/users/${id}/preferences`).send({ kind: 'SERVICE', preferredChannels: ['EMAIL'] }).expect(200);
    expect((await send(direct(id, 'SERVICE'))).status).toBe(202);
    clock.advance(50_000);
    expect((await send(direct(id))).status).toBe(202);
    clock.set(NOON_SEOUL);
  });

  it('names the channel with the longest wait in Retry-After when several deny, and keeps a request in one Redis Cluster slot', async () => {
    const id = await recipient({ channels: [{ type: 'EMAIL', address: 'two@example.com' }, { type: 'SMS', address: '+821055554444' }], devices: 0 });
    // EMAIL filled first (its oldest entry leaves the window first), SMS 20 s later.
    await ctx.redis.zadd(`rl:{${id}}:EMAIL`, ...Array.from({ length: 30 }, (_, i) => [clock.now().getTime(), `e${i}`]).flat());
    clock.advance(20_000);
    await ctx.redis.zadd(`rl:{${id}}:SMS`, ...Array.from({ length: 5 }, (_, i) => [clock.now().getTime(), `s${i}`]).flat());
    const denied = await send(direct(id));
    clock.set(NOON_SEOUL);
    expect(denied.status).toBe(429);
    // EMAIL frees a slot in 40 s, SMS only in 60 s: the request passes in 60 s.
    expect(denied.body).toMatchObject({ channel: 'SMS', retryAfterMillis: 60_000 });
    expect(denied.headers['retry-after']).toBe('60');
    const slots = await Promise.all(['EMAIL', 'SMS'].map((c) => ctx.redis.call('CLUSTER', 'KEYSLOT', `${ctx.redisPrefix}rl:{${id}}:${c}`).catch(() => null)));
    if (slots[0] !== null) expect(slots[0]).toBe(slots[1]);
  });

  it('frees the idempotency key of a rate-limited request', async () => {
    const id = await recipient({ channels: [{ type: 'SMS', address: '+821055554444' }], devices: 0 });
    for (let i = 0; i < 5; i++) await send(direct(id));
    const key = uniq('key');
    expect((await send(direct(id), key)).status).toBe(429);
    expect(await ctx.redis.exists(`idem:${key}`)).toBe(0);
  });
});

describe('POST /notifications without Redis', () => {
  it('answers 503 UNAVAILABLE with Retry-After, not 500, and writes nothing', async () => {
    const id = await recipient({ channels: [{ type: 'EMAIL', address: 'down@example.com' }], devices: 0 });
    const down = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    down.on('error', () => {});
    const registry = createMetricsRegistry('ingest-redis-down');
    const offline = createApp({ db: ctx.database.db, sql: ctx.database.sql, redis: down, logger: ctx.logger, registry, readiness: new Readiness(), clock: clock.now, config: ingestConfig(ctx) });
    const before = await rowCounts(ctx);
    const res = await request(offline).post('/api/v1/notifications').set('Idempotency-Key', uniq('down')).send(direct(id));
    down.disconnect();
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body.code).toBe('UNAVAILABLE');
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(await rowCounts(ctx)).toEqual(before);
  });
});

describe('Redis scripts', () => {
  it('are commands of the client before the first request, so an auto-pipeline already open in the same tick carries them', async () => {
    const fresh = new Redis(ctx.redisUrl, { keyPrefix: ctx.redisPrefix, enableAutoPipelining: true, maxRetriesPerRequest: 1 });
    try {
      createApp({ db: ctx.database.db, sql: ctx.database.sql, redis: fresh, logger: ctx.logger, registry: createMetricsRegistry('ingest-fresh'), readiness: new Readiness(), clock: clock.now, config: ingestConfig(ctx) });
      // A plain command first opens the tick's pipeline; the script follows in the same tick.
      const [set, limited, released] = await Promise.all([
        fresh.set(`fresh-${uniq('k')}`, '1', 'PX', 10_000),
        consumeRateLimit(fresh, { recipientId: uniq('fresh'), channels: ['SMS'], limits: { PUSH: 1, EMAIL: 1, SMS: 1, KAKAO_ALIMTALK: 1 }, windowMs: 60_000, now: clock.now(), member: 'm' }),
        releaseIdempotencyKey(fresh, uniq('fresh-key'), 'nobody'),
      ]);
      expect(set).toBe('OK');
      expect(limited).toEqual({ allowed: true });
      expect(released).toBeUndefined();
    } finally {
      fresh.disconnect();
    }
  });
});
