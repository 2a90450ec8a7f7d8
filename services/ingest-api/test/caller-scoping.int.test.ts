import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '@hub/testing';
import { ingestApp, startJwks, testClock, type Jwks } from './harness.ts';

// Caller scoping with authentication on (ADR 0021): a service caller (a token without a
// recipient_id claim) sees only the recipients and notifications it created; a recipient-scoped
// token sees only its own recipient. Another caller's data answers like data that does not exist.

const NOON_SEOUL = new Date('2026-03-10T03:00:00Z');

let ctx: TestContext;
let jwks: Jwks;
let app: ReturnType<typeof ingestApp>['app'];
let seq = 0;
const uniq = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;
const deviceToken = (n: string) => `scoped-token-${n}-${'s'.repeat(32)}`;

let callerA: string;
let callerB: string;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  jwks = await startJwks();
  ({ app } = ingestApp(ctx, { env: jwks.env, clock: testClock(NOON_SEOUL).now }));
  callerA = await jwks.token({ sub: 'svc-a' });
  callerB = await jwks.token({ sub: 'svc-b' });
});
afterAll(async () => {
  await jwks?.close();
  await ctx?.close();
});

const as = (token: string) => ({
  get: (path: string) => request(app).get(path).set('Authorization', `Bearer ${token}`),
  put: (path: string, body: object) => request(app).put(path).set('Authorization', `Bearer ${token}`).send(body),
  post: (path: string, body: object, headers: Record<string, string> = {}) => request(app).post(path).set('Authorization', `Bearer ${token}`).set(headers).send(body),
  delete: (path: string) => request(app).delete(path).set('Authorization', `Bearer ${token}`),
});

const recipientToken = (recipientId: string, sub = 'end-user') => jwks.token({ sub, claims: { recipient_id: recipientId } });

async function recipientOf(token: string, channels = [{ type: 'EMAIL', address: 'owner@example.com' }]) {
  const id = uniq('r');
  const res = await as(token).put(`/api/v1/recipients/${id}`, { channels });
  expect(res.status).toBe(201);
  return id;
}

const send = (token: string, recipientId: string, key = uniq('key')) =>
  as(token).post('/api/v1/notifications', { recipientId, kind: 'SECURITY', title: 'Sign-in', body: 'Was this you?' }, { 'Idempotency-Key': key });

describe('a service caller and another caller’s recipients', () => {
  it('answers 404 to reads of another caller’s recipient and 403 to a PUT of its id, leaving it unchanged', async () => {
    const id = await recipientOf(callerA);
    const read = await as(callerB).get(`/api/v1/recipients/${id}`);
    expect(read.status).toBe(404);
    expect(read.body.code).toBe('RECIPIENT_NOT_FOUND');
    const write = await as(callerB).put(`/api/v1/recipients/${id}`, { channels: [{ type: 'EMAIL', address: 'thief@example.com' }] });
    expect(write.status).toBe(403);
    expect(write.body.code).toBe('FORBIDDEN');
    const own = await as(callerA).get(`/api/v1/recipients/${id}`);
    expect(own.status).toBe(200);
    expect(own.body.channels).toEqual([{ type: 'EMAIL', address: 'owner@example.com' }]);
    // Its owner still replaces it.
    expect((await as(callerA).put(`/api/v1/recipients/${id}`, { channels: [] })).status).toBe(200);
    const row = await ctx.database.db.selectFrom('recipients').select('created_by').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.created_by).toBe('svc-a');
  });

  it('answers 404 RECIPIENT_NOT_FOUND to reads and writes of another caller’s preferences', async () => {
    const id = await recipientOf(callerA);
    for (const res of [
      await as(callerB).get(`/api/v1/users/${id}/preferences`),
      await as(callerB).put(`/api/v1/users/${id}/preferences`, { kind: 'MARKETING', allowed: false }),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('RECIPIENT_NOT_FOUND');
    }
    const own = await as(callerA).get(`/api/v1/users/${id}/preferences`);
    expect(own.status).toBe(200);
    expect(own.body.kinds.MARKETING.allowed).toBe(true);
  });

  it('refuses to register a device for another caller’s recipient and to unregister its devices (404)', async () => {
    const id = await recipientOf(callerA);
    const device = await as(callerA).post('/api/v1/devices', { recipientId: id, platform: 'IOS', token: deviceToken(id) });
    expect(device.status).toBe(201);
    const register = await as(callerB).post('/api/v1/devices', { recipientId: id, platform: 'IOS', token: deviceToken(`${id}-b`) });
    expect(register.status).toBe(404);
    expect(register.body.code).toBe('RECIPIENT_NOT_FOUND');
    const unregister = await as(callerB).delete(`/api/v1/devices/${device.body.id}`);
    expect(unregister.status).toBe(404);
    expect(unregister.body.code).toBe('NOT_FOUND');
    const rows = await ctx.database.db.selectFrom('device_tokens').select('id').where('recipient_id', '=', id).execute();
    expect(rows.map((r) => r.id)).toEqual([device.body.id]);
    expect((await as(callerA).delete(`/api/v1/devices/${device.body.id}`)).status).toBe(204);
  });

  it('refuses to send to another caller’s recipient as if it did not exist, writing nothing', async () => {
    const id = await recipientOf(callerA);
    const res = await send(callerB, id);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('RECIPIENT_NOT_FOUND');
    const rows = await ctx.database.db.selectFrom('notifications').select('id').where('recipient_id', '=', id).execute();
    expect(rows).toEqual([]);
  });
});

describe('a service caller and another caller’s notifications', () => {
  it('shows a notification and the history only to the caller that sent it (404 to another)', async () => {
    const id = await recipientOf(callerA);
    const sent = await send(callerA, id);
    expect(sent.status).toBe(202);
    const notificationId = sent.body.notificationId as string;

    expect((await as(callerA).get(`/api/v1/notifications/${notificationId}`)).status).toBe(200);
    const other = await as(callerB).get(`/api/v1/notifications/${notificationId}`);
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('NOT_FOUND');

    const history = await as(callerA).get(`/api/v1/notifications/me?recipientId=${id}`);
    expect(history.status).toBe(200);
    expect(history.body.items.map((i: { notificationId: string }) => i.notificationId)).toEqual([notificationId]);
    const otherHistory = await as(callerB).get(`/api/v1/notifications/me?recipientId=${id}`);
    expect(otherHistory.status).toBe(404);
    expect(otherHistory.body.code).toBe('RECIPIENT_NOT_FOUND');
    // Same answer as for a recipient that does not exist at all: no oracle.
    expect((await as(callerB).get(`/api/v1/notifications/me?recipientId=${uniq('nobody')}`)).status).toBe(404);
    const row = await ctx.database.db.selectFrom('notifications').select('created_by').where('id', '=', notificationId).executeTakeFirstOrThrow();
    expect(row.created_by).toBe('svc-a');
  });

  it('scopes Idempotency-Keys by caller: the same key of two callers makes two notifications', async () => {
    const a = await recipientOf(callerA);
    const b = await recipientOf(callerB);
    const key = uniq('shared-key');
    const first = await send(callerA, a, key);
    expect(first.status).toBe(202);
    const second = await send(callerB, b, key);
    expect(second.status).toBe(202);
    expect(second.body.notificationId).not.toBe(first.body.notificationId);
    // A repeat is still a duplicate, answered with the caller's own notification only.
    const repeat = await send(callerB, b, key);
    expect(repeat.status).toBe(409);
    expect(repeat.body).toMatchObject({ code: 'DUPLICATE_REQUEST', notificationId: second.body.notificationId });
    const repeatA = await send(callerA, a, key);
    expect(repeatA.body).toMatchObject({ code: 'DUPLICATE_REQUEST', notificationId: first.body.notificationId });
  });

  it('lets every service caller manage the shared template catalogue', async () => {
    const key = `scoped.welcome_${++seq}.v1`;
    const body = { key, locale: 'ko-kr', channelType: 'EMAIL', titleTemplate: 'Hi {name}', bodyTemplate: 'Hello {name}' };
    expect((await as(callerA).post('/api/v1/templates', body)).status).toBe(201);
    const list = await as(callerB).get(`/api/v1/templates?key=${key}`);
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
  });
});

describe('a recipient-scoped token (recipient_id claim)', () => {
  it('reads and replaces its own recipient entry, and nobody else’s (404)', async () => {
    const own = await recipientOf(callerA);
    const other = await recipientOf(callerA);
    const user = await recipientToken(own);
    expect((await as(user).get(`/api/v1/recipients/${own}`)).status).toBe(200);
    const replaced = await as(user).put(`/api/v1/recipients/${own}`, { channels: [{ type: 'EMAIL', address: 'me@example.com' }] });
    expect(replaced.status).toBe(200);
    for (const res of [await as(user).get(`/api/v1/recipients/${other}`), await as(user).put(`/api/v1/recipients/${other}`, { channels: [] })]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('RECIPIENT_NOT_FOUND');
    }
    // Its entry still belongs to the service that created it.
    expect((await as(callerA).get(`/api/v1/recipients/${own}`)).body.channels).toEqual([{ type: 'EMAIL', address: 'me@example.com' }]);
  });

  it('does not create a recipient entry (services do): 404 for its own id when there is none', async () => {
    const id = uniq('unborn');
    const res = await as(await recipientToken(id)).put(`/api/v1/recipients/${id}`, { channels: [] });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('RECIPIENT_NOT_FOUND');
    expect(await ctx.database.db.selectFrom('recipients').select('id').where('id', '=', id).executeTakeFirst()).toBeUndefined();
  });

  it('manages its own preferences and devices only', async () => {
    const own = await recipientOf(callerA);
    const other = await recipientOf(callerA);
    const user = as(await recipientToken(own));
    expect((await user.put(`/api/v1/users/${own}/preferences`, { kind: 'MARKETING', allowed: false })).status).toBe(200);
    expect((await user.get(`/api/v1/users/${own}/preferences`)).body.kinds.MARKETING.allowed).toBe(false);
    expect((await user.get(`/api/v1/users/${other}/preferences`)).status).toBe(404);
    expect((await user.put(`/api/v1/users/${other}/preferences`, { kind: 'MARKETING', allowed: false })).status).toBe(404);

    const mine = await user.post('/api/v1/devices', { recipientId: own, platform: 'ANDROID', token: deviceToken(own) });
    expect(mine.status).toBe(201);
    expect((await user.post('/api/v1/devices', { recipientId: other, platform: 'ANDROID', token: deviceToken(other) })).status).toBe(404);
    const theirs = await as(callerA).post('/api/v1/devices', { recipientId: other, platform: 'ANDROID', token: deviceToken(`${other}-a`) });
    expect(theirs.status).toBe(201);
    expect((await user.delete(`/api/v1/devices/${theirs.body.id}`)).status).toBe(404);
    expect((await user.delete(`/api/v1/devices/${mine.body.id}`)).status).toBe(204);
  });

  it('reads its own notifications and history, whoever sent them, and nobody else’s (404)', async () => {
    const own = await recipientOf(callerA);
    const other = await recipientOf(callerA);
    const mine = (await send(callerA, own)).body.notificationId as string;
    const theirs = (await send(callerA, other)).body.notificationId as string;
    const user = as(await recipientToken(own));
    expect((await user.get(`/api/v1/notifications/${mine}`)).status).toBe(200);
    expect((await user.get(`/api/v1/notifications/${theirs}`)).status).toBe(404);
    const history = await user.get(`/api/v1/notifications/me?recipientId=${own}`);
    expect(history.status).toBe(200);
    expect(history.body.items.map((i: { notificationId: string }) => i.notificationId)).toEqual([mine]);
    expect((await user.get(`/api/v1/notifications/me?recipientId=${other}`)).status).toBe(404);
  });

  it('may not send notifications or touch templates (403 FORBIDDEN)', async () => {
    const own = await recipientOf(callerA);
    const user = await recipientToken(own);
    for (const res of [
      await send(user, own),
      await as(user).post('/api/v1/templates', { key: 'user.made.v1', locale: 'ko-kr', channelType: 'EMAIL', titleTemplate: 't', bodyTemplate: 'b' }),
      await as(user).get('/api/v1/templates?key=user.made.v1'),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('FORBIDDEN');
    }
    expect(await ctx.database.db.selectFrom('notifications').select('id').where('recipient_id', '=', own).execute()).toEqual([]);
  });
});
