import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '@hub/testing';
import { createApp } from '../src/app.ts';
import { adminDeps, seedAttempts, TOKEN } from './harness.ts';

let ctx: TestContext;
let app: ReturnType<typeof createApp>;
const now = new Date('2026-11-25T12:00:00.000Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);
let email: string[];
let smsPriority: string[];
let pushTransient: string[];
let old: string[];
let pending: string[];

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  app = createApp(adminDeps(ctx, { clock: () => now }));
  const db = ctx.database.db;
  email = await seedAttempts(db, { count: 3, channel: 'EMAIL', updatedAt: new Date('2026-11-25T10:15:00Z') });
  smsPriority = await seedAttempts(db, {
    count: 2,
    channel: 'SMS',
    kind: 'SECURITY',
    failureReason: 'invalid_recipient: unknown number',
    updatedAt: new Date('2026-11-25T11:59:00Z'),
  });
  pushTransient = await seedAttempts(db, {
    count: 1,
    channel: 'PUSH',
    failureReason: 'transient 503 from FCM',
    updatedAt: new Date('2026-11-25T10:45:00Z'),
  });
  old = await seedAttempts(db, { count: 1, channel: 'KAKAO_ALIMTALK', updatedAt: hoursAgo(30) });
  pending = await seedAttempts(db, { count: 1, channel: 'EMAIL', status: 'PENDING', failureReason: null });
});
afterAll(async () => {
  await ctx.close();
});

const get = (path: string) => request(app).get(`/api/v1/admin${path}`).set('X-Admin-Token', TOKEN);
const allDlq = () => [...email, ...smsPriority, ...pushTransient, ...old].sort();

describe('GET /dlq', () => {
  it('lists only EXHAUSTED attempts in ascending id order with masked addresses', async () => {
    const res = await get('/dlq');
    expect(res.status).toBe(200);
    expect(res.body.items.map((i: { attemptId: string }) => i.attemptId)).toEqual(allDlq());
    expect(res.body.nextCursor).toBeNull();
    const first = res.body.items.find((i: { attemptId: string }) => i.attemptId === email[0]);
    expect(first).toMatchObject({ channel: 'EMAIL', status: 'EXHAUSTED', address: 'EMAIL:bo***om', errorClass: 'permanent' });
    expect(JSON.stringify(res.body)).not.toContain('bounce@simulator');
  });

  it('pages with a keyset cursor until nextCursor is null', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(`/dlq?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((i: { attemptId: string }) => i.attemptId));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(allDlq());
    expect(pages).toBe(4);
  });

  it('treats an unknown but well-formed cursor as a position', async () => {
    const res = await get('/dlq?cursor=00000000-0000-0000-0000-000000000000');
    expect(res.body.items).toHaveLength(allDlq().length);
    const after = await get('/dlq?cursor=ffffffff-ffff-ffff-ffff-ffffffffffff');
    expect(after.body).toEqual({ items: [], nextCursor: null });
  });

  it('rejects a malformed cursor and a limit outside 1–200 with 400', async () => {
    for (const query of ['cursor=abc', 'limit=0', 'limit=201', 'limit=x', 'limit=1&limit=2', 'colour=red']) {
      const res = await get(`/dlq?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.code).toBe('BAD_REQUEST');
    }
  });
});

describe('GET /dlq/{attemptId}', () => {
  it('shows the masked address, counts, error class, rendered content and expected topic', async () => {
    const res = await get(`/dlq/${smsPriority[0]}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      attemptId: smsPriority[0],
      channel: 'SMS',
      priority: true,
      address: 'SMS:+1***09',
      status: 'EXHAUSTED',
      retryCount: 5,
      maxRetry: 5,
      failureReason: 'invalid_recipient: unknown number',
      errorClass: 'invalid_recipient',
      vendorMessageId: null,
      renderedTitle: 'Your receipt',
      renderedBody: 'Thanks for your order',
      expectedTopic: ctx.topics.delivery('SMS', true),
      updatedAt: '2026-11-25T11:59:00.000Z',
    });
    expect(res.body.createdAt).toEqual(expect.any(String));
    expect(res.body).toHaveProperty('dispatchedAt');
    expect(res.body).toHaveProperty('completedAt');
    expect(res.body).toHaveProperty('nextAttemptAt');
  });

  it('shows an attempt outside the DLQ with its current status', async () => {
    const res = await get(`/dlq/${pending[0]}`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('PENDING');
  });

  it('answers 404 ATTEMPT_NOT_FOUND for an unknown id and 400 for a malformed one', async () => {
    const missing = await get('/dlq/0190f0f0-0000-7000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('ATTEMPT_NOT_FOUND');
    const bad = await get('/dlq/not-a-uuid');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('BAD_REQUEST');
  });
});

describe('GET /dlq/search', () => {
  const ids = (res: request.Response) => res.body.items.map((i: { attemptId: string }) => i.attemptId);

  it('filters by channel and answers {items, nextCursor, size}', async () => {
    const res = await get('/dlq/search?channel=EMAIL');
    expect(res.status).toBe(200);
    expect(ids(res)).toEqual(email);
    expect(res.body).toMatchObject({ nextCursor: null, size: 50 });
  });

  it('filters by delivery topic lane and by dispatcher consumer group', async () => {
    const priority = await get(`/dlq/search?topic=${ctx.topics.delivery('SMS', true)}`);
    expect(ids(priority)).toEqual(smsPriority);
    const bulkLane = await get(`/dlq/search?topic=${ctx.topics.delivery('SMS', false)}`);
    expect(ids(bulkLane)).toEqual([]);
    const group = await get(`/dlq/search?topic=${ctx.topics.dispatcherGroup('SMS')}`);
    expect(ids(group)).toEqual(smsPriority);
  });

  it('lets channel beat topic', async () => {
    const res = await get(`/dlq/search?channel=PUSH&topic=${ctx.topics.delivery('SMS', true)}`);
    expect(ids(res)).toEqual(pushTransient);
  });

  it('matches nothing for an unknown topic or consumer group', async () => {
    for (const topic of ['notification.delivery.fax', 'no-such-group', 'notification.delivery.email']) {
      const res = await get(`/dlq/search?topic=${topic}`);
      expect(res.status, topic).toBe(200);
      expect(ids(res), topic).toEqual([]);
    }
  });

  it('filters by the time the attempt entered the DLQ, from inclusive and to exclusive', async () => {
    const res = await get('/dlq/search?from=2026-11-25T10:00:00Z&to=2026-11-25T11:00:00Z');
    expect(ids(res)).toEqual([...email, ...pushTransient].sort());
    const edge = await get('/dlq/search?from=2026-11-25T10:15:00Z&to=2026-11-25T10:45:00Z');
    expect(ids(edge)).toEqual(email);
    const offset = await get(`/dlq/search?from=${encodeURIComponent('2026-11-25T20:00:00+09:00')}`);
    expect(ids(offset)).toEqual(smsPriority);
  });

  it('filters by error type, whatever the case', async () => {
    expect(ids(await get('/dlq/search?errorType=transient'))).toEqual(pushTransient);
    expect(ids(await get('/dlq/search?errorType=INVALID_RECIPIENT'))).toEqual(smsPriority);
  });

  it('pages search results with a cursor', async () => {
    const first = await get('/dlq/search?channel=EMAIL&size=2');
    expect(ids(first)).toEqual(email.slice(0, 2));
    expect(first.body.nextCursor).toBe(email[1]);
    const second = await get(`/dlq/search?channel=EMAIL&size=2&cursor=${first.body.nextCursor}`);
    expect(ids(second)).toEqual(email.slice(2));
    expect(second.body.nextCursor).toBeNull();
  });

  it('rejects bad filters with 400 naming the field', async () => {
    const cases: [string, string][] = [
      ['from=yesterday', 'query.from'],
      ['to=2026-13-45T00:00:00Z', 'query.to'],
      ['from=2026-11-25T10:00:00', 'query.from'],
      ['from=2026-11-25T12:00:00Z&to=2026-11-25T10:00:00Z', 'query.from'],
      ['channel=FAX', 'query.channel'],
      ['channel=email', 'query.channel'],
      ['errorType=timeout', 'query.errorType'],
      ['size=201', 'query.size'],
      ['size=0', 'query.size'],
      ['size=10000000', 'query.size'],
      ['cursor=123', 'query.cursor'],
      ['chanel=EMAIL', 'query'],
    ];
    for (const [query, field] of cases) {
      const res = await get(`/dlq/search?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body.code).toBe('BAD_REQUEST');
      expect(res.body.errors.map((e: { field: string }) => e.field), query).toContain(field);
    }
  });
});

describe('GET /dlq/stats', () => {
  it('totals the last 24 h by default, in epoch-aligned hourly buckets, by channel and by error class', async () => {
    const res = await get('/dlq/stats');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      from: '2026-11-24T12:00:00.000Z',
      to: '2026-11-25T12:00:00.000Z',
      bucket: 'PT1H',
      bucketSeconds: 3600,
      total: 6,
    });
    expect(res.body.buckets).toHaveLength(24);
    const nonEmpty = res.body.buckets.filter((b: { count: number }) => b.count > 0);
    expect(nonEmpty).toEqual([
      { start: '2026-11-25T10:00:00.000Z', count: 4 },
      { start: '2026-11-25T11:00:00.000Z', count: 2 },
    ]);
    expect(res.body.byChannel).toEqual([
      { channel: 'EMAIL', count: 3 },
      { channel: 'PUSH', count: 1 },
      { channel: 'SMS', count: 2 },
    ]);
    expect(res.body.byErrorClass).toEqual([
      { errorClass: 'invalid_recipient', count: 2 },
      { errorClass: 'permanent', count: 3 },
      { errorClass: 'transient', count: 1 },
    ]);
  });

  it('accepts ISO-8601 buckets such as PT5M and P1D, aligned to the epoch', async () => {
    const fiveMin = await get('/dlq/stats?from=2026-11-25T10:12:00Z&to=2026-11-25T10:50:00Z&bucket=PT5M');
    expect(fiveMin.status).toBe(200);
    expect(fiveMin.body.buckets[0].start).toBe('2026-11-25T10:10:00.000Z');
    expect(fiveMin.body.buckets.filter((b: { count: number }) => b.count > 0)).toEqual([
      { start: '2026-11-25T10:15:00.000Z', count: 3 },
      { start: '2026-11-25T10:45:00.000Z', count: 1 },
    ]);
    const daily = await get('/dlq/stats?from=2026-11-23T00:00:00Z&to=2026-11-26T00:00:00Z&bucket=P1D');
    expect(daily.body.buckets).toEqual([
      { start: '2026-11-23T00:00:00.000Z', count: 0 },
      { start: '2026-11-24T00:00:00.000Z', count: 1 },
      { start: '2026-11-25T00:00:00.000Z', count: 6 },
    ]);
    expect(daily.body.total).toBe(7);
  });

  it('rejects from > to, bad dates, bad buckets and too many buckets with 400', async () => {
    for (const query of [
      'from=2026-11-25T12:00:00Z&to=2026-11-25T10:00:00Z',
      'from=soon',
      'bucket=hourly',
      'bucket=P1M',
      'bucket=PT0S',
      'from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&bucket=PT1M',
      'window=PT1H',
    ]) {
      const res = await get(`/dlq/stats?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.code).toBe('BAD_REQUEST');
    }
  });
});
