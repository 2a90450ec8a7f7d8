import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '@hub/testing';
import { createApp } from '../src/app.ts';
import type { AdminDeps } from '../src/deps.ts';
import { adminDeps, TOKEN } from './harness.ts';

let ctx: TestContext;
const closers: (() => void)[] = [];

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
});
afterAll(async () => {
  for (const close of closers) close();
  await ctx.close();
});

let scopes = 0;
function app(access: Partial<AdminDeps['access']> = {}) {
  const deps = adminDeps(ctx, { access, redisScope: `access${scopes++}` });
  closers.push(deps.close);
  return { app: createApp(deps), deps };
}

describe('admin token', () => {
  it('answers 401 UNAUTHORIZED_ADMIN as problem+json without a token', async () => {
    const res = await request(app().app).get('/api/v1/admin/dlq');
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status: 401, code: 'UNAUTHORIZED_ADMIN', path: '/api/v1/admin/dlq' });
    expect(res.body.timestamp).toEqual(expect.any(String));
  });

  it('answers 401 for a wrong token, including one that only differs in length', async () => {
    const { app: a } = app();
    for (const token of ['wrong', `${TOKEN}x`, TOKEN.slice(0, -1), '']) {
      const res = await request(a).get('/api/v1/admin/dlq').set('X-Admin-Token', token);
      expect(res.status, token).toBe(401);
      expect(res.body.code).toBe('UNAUTHORIZED_ADMIN');
    }
  });

  it('accepts the configured token', async () => {
    const res = await request(app().app).get('/api/v1/admin/dlq').set('X-Admin-Token', TOKEN);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [], nextCursor: null });
  });

  it('denies every request when no token is configured, even an empty one', async () => {
    const { app: a } = app({ token: undefined });
    for (const token of [undefined, '', TOKEN]) {
      const req = request(a).get('/api/v1/admin/dlq');
      const res = await (token === undefined ? req : req.set('X-Admin-Token', token));
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('UNAUTHORIZED_ADMIN');
    }
  });

  it('protects writes and bulk operations too', async () => {
    const { app: a } = app();
    const id = '0190f0f0-0000-7000-8000-000000000000';
    expect((await request(a).post(`/api/v1/admin/dlq/${id}/replay`)).status).toBe(401);
    expect((await request(a).post(`/api/v1/admin/dlq/${id}/discard`)).status).toBe(401);
    expect((await request(a).delete(`/api/v1/admin/dlq/${id}`)).status).toBe(401);
    expect((await request(a).post('/api/v1/admin/dlq/bulk-replay').send({ confirm: true })).status).toBe(401);
    expect((await request(a).get(`/api/v1/admin/dlq/bulk-jobs/${id}`)).status).toBe(401);
  });

  it('counts denied requests in the metrics', async () => {
    const { app: a } = app();
    await request(a).get('/api/v1/admin/dlq').set('X-Admin-Token', 'guess');
    const metrics = await request(a).get('/metrics');
    expect(metrics.text).toMatch(/admin_access_denied_total\{reason="unauthorized",service="admin-api-test"\} 1/);
  });
});

describe('rate limit per caller IP and scope', () => {
  it('throttles token guessing: 429 with Retry-After once the limit is used up, even for the right token', async () => {
    const { app: a } = app({ rateLimitPerMinute: 5 });
    for (let i = 0; i < 5; i++) {
      const res = await request(a).get('/api/v1/admin/dlq').set('X-Admin-Token', `guess-${i}`);
      expect(res.status).toBe(401);
    }
    const limited = await request(a).get('/api/v1/admin/dlq').set('X-Admin-Token', 'guess-6');
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    // Checked before the token: the right token does not get past an exhausted budget either.
    const correct = await request(a).get('/api/v1/admin/dlq').set('X-Admin-Token', TOKEN);
    expect(correct.status).toBe(429);
  });

  it('cannot be dodged with a forged X-Forwarded-For when no proxy is trusted', async () => {
    const { app: a } = app({ rateLimitPerMinute: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await request(a)
        .get('/api/v1/admin/dlq')
        .set('X-Admin-Token', `guess-${i}`)
        .set('X-Forwarded-For', `198.51.100.${i}`);
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
  });

  it('with one trusted proxy, keys on the hop the proxy appended, not on what the caller prepended', async () => {
    const { app: a } = app({ rateLimitPerMinute: 2, trustedProxyHops: 1 });
    const as = (xff: string) => request(a).get('/api/v1/admin/dlq').set('X-Admin-Token', TOKEN).set('X-Forwarded-For', xff);
    expect((await as('6.6.6.1, 203.0.113.7')).status).toBe(200);
    expect((await as('6.6.6.2, 203.0.113.7')).status).toBe(200);
    expect((await as('6.6.6.3, 203.0.113.7')).status).toBe(429);
    // A different real client behind the same proxy has its own budget.
    expect((await as('6.6.6.3, 203.0.113.8')).status).toBe(200);
  });

  it('keeps separate budgets per scope', async () => {
    const { app: a } = app({ rateLimitPerMinute: 1 });
    const id = '0190f0f0-0000-7000-8000-000000000000';
    expect((await request(a).get('/api/v1/admin/dlq').set('X-Admin-Token', TOKEN)).status).toBe(200);
    expect((await request(a).get('/api/v1/admin/dlq').set('X-Admin-Token', TOKEN)).status).toBe(429);
    // dlq.write and dlq.bulk are untouched by the reads.
    expect((await request(a).post(`/api/v1/admin/dlq/${id}/replay`).set('X-Admin-Token', TOKEN)).status).toBe(404);
    expect((await request(a).post('/api/v1/admin/dlq/bulk-replay').set('X-Admin-Token', TOKEN).send({})).status).toBe(200);
    expect((await request(a).post('/api/v1/admin/dlq/bulk-replay').set('X-Admin-Token', TOKEN).send({})).status).toBe(429);
  });

  it('is shared by every replica through Redis', async () => {
    const scope = `shared${scopes++}`;
    const one = adminDeps(ctx, { access: { rateLimitPerMinute: 2 }, redisScope: scope });
    const two = adminDeps(ctx, { access: { rateLimitPerMinute: 2 }, redisScope: scope });
    closers.push(one.close, two.close);
    const [appOne, appTwo] = [createApp(one), createApp(two)];
    expect((await request(appOne).get('/api/v1/admin/dlq').set('X-Admin-Token', TOKEN)).status).toBe(200);
    expect((await request(appTwo).get('/api/v1/admin/dlq').set('X-Admin-Token', TOKEN)).status).toBe(200);
    expect((await request(appOne).get('/api/v1/admin/dlq').set('X-Admin-Token', TOKEN)).status).toBe(429);
  });
});

describe('without Redis', () => {
  it('refuses requests with 503 instead of letting them through unthrottled', async () => {
    const down = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const deps = { ...adminDeps(ctx), redis: down };
    const res = await request(createApp(deps)).get('/api/v1/admin/dlq').set('X-Admin-Token', TOKEN);
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body.code).toBe('UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('1');
    down.disconnect();
  });
});

describe('documentation', () => {
  it('serves the OpenAPI document and the docs page without a token', async () => {
    const { app: a } = app();
    const doc = await request(a).get('/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/admin/dlq',
        '/api/v1/admin/dlq/search',
        '/api/v1/admin/dlq/stats',
        '/api/v1/admin/dlq/bulk-replay',
        '/api/v1/admin/dlq/bulk-discard',
        '/api/v1/admin/dlq/bulk-jobs/{jobId}',
        '/api/v1/admin/dlq/{attemptId}',
        '/api/v1/admin/dlq/{attemptId}/replay',
        '/api/v1/admin/dlq/{attemptId}/discard',
      ]),
    );
    expect(doc.body.components.securitySchemes.adminToken).toEqual({ type: 'apiKey', in: 'header', name: 'X-Admin-Token' });
    const docs = await request(a).get('/docs');
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('swagger-ui');
  });
});
