import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@hub/db';
import type { Channel } from '@hub/domain';
import { createTestContext, type TestContext } from '@hub/testing';
import { createApp } from '../src/app.ts';
import { ACTOR, adminDeps, TOKEN } from './harness.ts';

let ctx: TestContext;
let app: ReturnType<typeof createApp>;

/** Entries as a receipt leaves them (ingest's SES/Twilio endpoints); ids ascend in insertion order. */
async function suppress(channel: Channel, address: string, reason: 'BOUNCED' | 'COMPLAINED' = 'BOUNCED'): Promise<string> {
  const id = newId();
  await ctx.database.db.insertInto('suppressed_addresses').values({ id, channel, address, reason, source: channel === 'EMAIL' ? 'vendor:ses' : 'vendor:twilio', attempt_id: null }).execute();
  return id;
}

const count = async () => Number((await ctx.database.db.selectFrom('suppressed_addresses').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
const audits = () => ctx.database.db.selectFrom('audit_events').selectAll().where('action', '=', 'SUPPRESSION_REMOVE').execute();

let ids: string[];

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  app = createApp(adminDeps(ctx));
  ids = [
    await suppress('EMAIL', 'hard.bounce@example.com'),
    await suppress('SMS', '+821012345678'),
    await suppress('EMAIL', 'complainer@example.com', 'COMPLAINED'),
  ];
});
afterAll(async () => {
  await ctx?.close();
});

describe('GET /api/v1/admin/suppressions', () => {
  it('lists entries oldest first with masked addresses', async () => {
    const res = await request(app).get('/api/v1/admin/suppressions').set('X-Admin-Token', TOKEN);
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    expect(res.body.items).toEqual([
      { id: ids[0], channel: 'EMAIL', address: 'EMAIL:ha***om', reason: 'BOUNCED', source: 'vendor:ses', attemptId: null, createdAt: expect.any(String) },
      { id: ids[1], channel: 'SMS', address: 'SMS:+8***78', reason: 'BOUNCED', source: 'vendor:twilio', attemptId: null, createdAt: expect.any(String) },
      { id: ids[2], channel: 'EMAIL', address: 'EMAIL:co***om', reason: 'COMPLAINED', source: 'vendor:ses', attemptId: null, createdAt: expect.any(String) },
    ]);
    expect(JSON.stringify(res.body)).not.toContain('hard.bounce@example.com');
  });

  it('pages by id keyset and filters by channel', async () => {
    const first = await request(app).get('/api/v1/admin/suppressions?channel=EMAIL&limit=1').set('X-Admin-Token', TOKEN);
    expect(first.body.items.map((i: { id: string }) => i.id)).toEqual([ids[0]]);
    expect(first.body.nextCursor).toBe(ids[0]);
    const second = await request(app).get(`/api/v1/admin/suppressions?channel=EMAIL&limit=1&cursor=${first.body.nextCursor}`).set('X-Admin-Token', TOKEN);
    expect(second.body.items.map((i: { id: string }) => i.id)).toEqual([ids[2]]);
    expect(second.body.nextCursor).toBeNull();
  });

  it.each([
    ['an unknown channel', '?channel=FAX'],
    ['a malformed cursor', '?cursor=abc'],
    ['a limit above 200', '?limit=201'],
    ['an unknown parameter', '?chanel=EMAIL'],
  ])('answers %s with 400 problem+json', async (_name, query) => {
    const res = await request(app).get(`/api/v1/admin/suppressions${query}`).set('X-Admin-Token', TOKEN);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
  });

  it('refuses a request without the admin token with 401 UNAUTHORIZED_ADMIN', async () => {
    const res = await request(app).get('/api/v1/admin/suppressions');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'UNAUTHORIZED_ADMIN' });
  });

  it('rate limits each caller on the suppressions.read scope before the token is checked', async () => {
    const deps = adminDeps(ctx, { access: { rateLimitPerMinute: 1 }, redisScope: `rl-${Date.now()}` });
    try {
      const limited = createApp(deps);
      expect((await request(limited).get('/api/v1/admin/suppressions').set('X-Admin-Token', 'wrong')).status).toBe(401);
      const res = await request(limited).get('/api/v1/admin/suppressions').set('X-Admin-Token', TOKEN);
      expect(res.status).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      deps.close();
    }
  });
});

describe('DELETE /api/v1/admin/suppressions/{id}', () => {
  it('removes the entry with a SUPPRESSION_REMOVE audit row holding the masked address', async () => {
    const id = await suppress('EMAIL', 'reinstated@example.com');
    const res = await request(app).delete(`/api/v1/admin/suppressions/${id}`).set('X-Admin-Token', TOKEN);
    expect(res.status).toBe(200);
    expect(res.body.removed).toMatchObject({ id, channel: 'EMAIL', address: 'EMAIL:re***om', reason: 'BOUNCED' });
    expect(await ctx.database.db.selectFrom('suppressed_addresses').select('id').where('id', '=', id).execute()).toEqual([]);
    const audit = (await audits()).filter((a) => a.target_id === id);
    expect(audit).toEqual([expect.objectContaining({ actor: ACTOR, target_type: 'suppressed_address', details: expect.objectContaining({ address: 'EMAIL:re***om', reason: 'BOUNCED' }) })]);
    expect(JSON.stringify(audit)).not.toContain('reinstated@example.com');
  });

  it('answers an unknown id 404 SUPPRESSION_NOT_FOUND and a malformed one 400, changing nothing', async () => {
    const before = { rows: await count(), audits: (await audits()).length };
    const unknown = await request(app).delete(`/api/v1/admin/suppressions/${newId()}`).set('X-Admin-Token', TOKEN);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'SUPPRESSION_NOT_FOUND' });
    const malformed = await request(app).delete('/api/v1/admin/suppressions/not-a-uuid').set('X-Admin-Token', TOKEN);
    expect(malformed.status).toBe(400);
    expect(malformed.headers['content-type']).toContain('application/problem+json');
    const unauthorized = await request(app).delete(`/api/v1/admin/suppressions/${ids[1]}`);
    expect(unauthorized.status).toBe(401);
    expect({ rows: await count(), audits: (await audits()).length }).toEqual(before);
  });
});
