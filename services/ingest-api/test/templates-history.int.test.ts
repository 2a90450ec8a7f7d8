import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@hub/db';
import { createTestContext, type TestContext } from '@hub/testing';
import { ingestApp, rowCounts, testClock } from './harness.ts';

const NOON_SEOUL = new Date('2026-03-10T03:00:00Z');

let ctx: TestContext;
let app: ReturnType<typeof ingestApp>['app'];
const clock = testClock(NOON_SEOUL);
let seq = 0;
const uniq = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  // The clock stands still: every notification below has the same created_at.
  ({ app } = ingestApp(ctx, { clock: clock.now, env: { RATE_LIMIT_EMAIL: '1000', RATE_LIMIT_SMS: '1000', RATE_LIMIT_PUSH: '1000' } }));
});
afterAll(async () => {
  await ctx?.close();
});

async function recipient(channels: { type: string; address: string }[], locale?: string) {
  const id = uniq('user');
  await request(app)
    .put(`/api/v1/recipients/${id}`)
    .send({ channels, ...(locale ? { locale } : {}) })
    .expect(201);
  return id;
}

const template = (key: string, locale: string, channelType: string, titleTemplate: string, bodyTemplate: string) =>
  request(app).post('/api/v1/templates').send({ key, locale, channelType, titleTemplate, bodyTemplate });

const send = (body: Record<string, unknown>) => request(app).post('/api/v1/notifications').set('Idempotency-Key', uniq('key')).send(body);

const attemptsOf = (notificationId: string) =>
  ctx.database.db.selectFrom('delivery_attempts').selectAll().where('notification_id', '=', notificationId).orderBy('id').execute();

describe('templates in the send path', () => {
  it('renders per channel, leaves the text of an EMAIL unescaped, keeps literal braces and records SMS segments', async () => {
    const key = `shop.order_${seq++}.v1`;
    await template(key, 'ko-kr', 'EMAIL', 'Order {order} for {name}', '<p>Hi {name}</p> {"order": "{order}"}').expect(201);
    // 60 syllables and 12 more characters: 72 UCS-2 characters, two parts of 67.
    await template(key, 'ko-kr', 'SMS', 'Order {order}', `${'가'.repeat(60)} {name}`).expect(201);
    const id = await recipient([{ type: 'EMAIL', address: 't@example.com' }, { type: 'SMS', address: '+821011110000' }]);
    const res = await send({ recipientId: id, kind: 'TRANSACTIONAL', templateKey: key, payload: { order: '42', name: '<Kim & Lee>' } });
    expect(res.status).toBe(202);
    const [email, sms] = await attemptsOf(res.body.notificationId);
    // The body is the text part: values as given (SPEC §2 escapes only an HTML body, which this template has none of).
    expect(email).toMatchObject({ channel: 'EMAIL', rendered_title: 'Order 42 for <Kim & Lee>', rendered_body: '<p>Hi <Kim & Lee></p> {"order": "42"}', rendered_html_body: null });
    expect(sms).toMatchObject({ channel: 'SMS', rendered_body: `${'가'.repeat(60)} <Kim & Lee>`, sms_segments: 2 });
  });

  it('falls back to the default locale when the recipient locale has no template', async () => {
    const key = `auth.otp_${seq++}.v1`;
    await template(key, 'ko-kr', 'EMAIL', '인증번호', '인증번호 {code}').expect(201);
    await template(key, 'en', 'SMS', 'Code', 'Your code is {code}').expect(201);
    await template(key, 'ko-kr', 'SMS', '인증번호', '인증번호는 {code}').expect(201);
    const id = await recipient([{ type: 'EMAIL', address: 'e@example.com' }, { type: 'SMS', address: '+821011112222' }], 'EN');
    const res = await send({ recipientId: id, kind: 'SECURITY', templateKey: key, payload: { code: '123456' } });
    expect(res.status).toBe(202);
    const [email, sms] = await attemptsOf(res.body.notificationId);
    expect(email!.rendered_body).toBe('인증번호 123456');
    expect(sms!.rendered_body).toBe('Your code is 123456');
  });

  it('skips channels the template does not cover', async () => {
    const key = `promo.sale_${seq++}.v1`;
    await template(key, 'ko-kr', 'EMAIL', 'Sale', 'Sale now').expect(201);
    const id = await recipient([{ type: 'EMAIL', address: 's@example.com' }, { type: 'SMS', address: '+821011113333' }]);
    const res = await send({ recipientId: id, kind: 'SERVICE', templateKey: key });
    expect(res.body.dispatchedChannels).toEqual(['EMAIL']);
  });

  it('answers 400 naming each missing variable and writes nothing', async () => {
    const key = `auth.reset_${seq++}.v1`;
    await template(key, 'ko-kr', 'EMAIL', 'Reset for {name}', 'Link {link}').expect(201);
    const id = await recipient([{ type: 'EMAIL', address: 'm@example.com' }]);
    const before = await rowCounts(ctx);
    const res = await send({ recipientId: id, kind: 'SECURITY', templateKey: key, payload: { name: 'x' } });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('link');
    expect(res.body.errors).toEqual([{ field: 'payload.link', message: 'required by the template' }]);
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it('answers 404 TEMPLATE_NOT_FOUND for an unknown key or a key without a template for any channel', async () => {
    const id = await recipient([{ type: 'EMAIL', address: 'n@example.com' }]);
    const unknown = await send({ recipientId: id, kind: 'SECURITY', templateKey: 'no.such.template' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('TEMPLATE_NOT_FOUND');
    const key = `push.only_${seq++}.v1`;
    await template(key, 'ko-kr', 'PUSH', 't', 'b').expect(201);
    const uncovered = await send({ recipientId: id, kind: 'SECURITY', templateKey: key });
    expect(uncovered.status).toBe(404);
    expect(uncovered.body.code).toBe('TEMPLATE_NOT_FOUND');
  });
});

describe('GET /notifications/me', () => {
  let recipientId: string;
  const ids: string[] = [];

  beforeAll(async () => {
    recipientId = await recipient([{ type: 'EMAIL', address: 'h@example.com' }]);
    for (let i = 0; i < 45; i++) {
      const res = await send({ recipientId, kind: 'SERVICE', title: `n${i}`, body: 'b' });
      expect(res.status).toBe(202);
      ids.push(res.body.notificationId);
    }
  });

  it('pages newest first by 20 by default without skipping or repeating rows that share a timestamp', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const res: request.Response = await request(app)
        .get('/api/v1/notifications/me')
        .query({ recipientId, ...(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      sizes.push(res.body.items.length);
      seen.push(...res.body.items.map((i: { notificationId: string }) => i.notificationId));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(sizes).toEqual([20, 20, 5]);
    expect(seen).toEqual([...ids].reverse());
    const createdAt = await ctx.database.db.selectFrom('notifications').select('created_at').where('recipient_id', '=', recipientId).execute();
    expect(new Set(createdAt.map((r) => r.created_at.toISOString())).size).toBe(1);
  });

  it('returns items with title, kind, status and createdAt, and a null cursor on the last page', async () => {
    const res = await request(app).get('/api/v1/notifications/me').query({ recipientId, limit: 100 });
    expect(res.body.items).toHaveLength(45);
    expect(res.body.nextCursor).toBeNull();
    expect(res.body.items[0]).toEqual({ notificationId: ids[44], title: 'n44', kind: 'SERVICE', status: 'FANNED_OUT', createdAt: NOON_SEOUL.toISOString() });
  });

  it('starts over at the first page for a well-formed but unknown cursor', async () => {
    for (const cursor of ['00000000-0000-0000-0000-000000000000', newId()]) {
      const res = await request(app).get('/api/v1/notifications/me').query({ recipientId, cursor, limit: 3 });
      expect(res.status).toBe(200);
      expect(res.body.items.map((i: { notificationId: string }) => i.notificationId)).toEqual([ids[44], ids[43], ids[42]]);
    }
  });

  it.each([
    [{ cursor: 'not-a-uuid' }, 'query.cursor'],
    [{ limit: '0' }, 'query.limit'],
    [{ limit: '101' }, 'query.limit'],
    [{ limit: 'ten' }, 'query.limit'],
  ])('rejects %j with 400 naming the parameter', async (query, field) => {
    const res = await request(app).get('/api/v1/notifications/me').query({ recipientId, ...query });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('requires recipientId', async () => {
    const res = await request(app).get('/api/v1/notifications/me');
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain('query.recipientId');
  });
});

describe('GET /notifications/{id}', () => {
  it('returns the notification with its attempts and masked addresses', async () => {
    const id = await recipient([{ type: 'EMAIL', address: 'detail@example.com' }, { type: 'SMS', address: '+821012349876' }]);
    const sent = await send({ recipientId: id, kind: 'SECURITY', title: 'T', body: 'B' });
    const res = await request(app).get(`/api/v1/notifications/${sent.body.notificationId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ notificationId: sent.body.notificationId, recipientId: id, kind: 'SECURITY', status: 'FANNED_OUT', title: 'T', body: 'B' });
    expect(res.body.attempts).toEqual([
      expect.objectContaining({ channel: 'EMAIL', address: 'EMAIL:de***om', status: 'PENDING', retryCount: 0, vendorMessageId: null, failureReason: null }),
      expect.objectContaining({ channel: 'SMS', address: 'SMS:+8***76', status: 'PENDING', smsSegments: 1 }),
    ]);
    expect(JSON.stringify(res.body)).not.toContain('detail@example.com');
  });

  it('answers 404 NOT_FOUND for an unknown id and 400 for a malformed one', async () => {
    expect((await request(app).get(`/api/v1/notifications/${newId()}`)).body.code).toBe('NOT_FOUND');
    expect((await request(app).get('/api/v1/notifications/123')).status).toBe(400);
  });
});
