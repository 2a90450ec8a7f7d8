import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '@hub/testing';
import { ingestApp, startJwks, testClock, type Jwks } from './harness.ts';

// SPEC §3 POST /devices: a token registered for another recipient moves to the new one (the
// phone changed hands); the previous owner stops receiving on it.

const NOON_SEOUL = new Date('2026-03-10T03:00:00Z');

let ctx: TestContext;
let app: ReturnType<typeof ingestApp>['app'];
let seq = 0;
const uniq = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;
const deviceToken = (n: string) => `handover-token-${n}-${'h'.repeat(32)}`;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  ({ app } = ingestApp(ctx, { clock: testClock(NOON_SEOUL).now }));
});
afterAll(async () => {
  await ctx?.close();
});

async function recipient() {
  const id = uniq('owner');
  await request(app).put(`/api/v1/recipients/${id}`).send({ channels: [{ type: 'EMAIL', address: 'owner@example.com' }] }).expect(201);
  return id;
}

const register = (recipientId: string, token: string, platform = 'ANDROID') => request(app).post('/api/v1/devices').send({ recipientId, platform, token });

async function pushAddressesOfNextNotification(recipientId: string): Promise<string[]> {
  const res = await request(app)
    .post('/api/v1/notifications')
    .set('Idempotency-Key', uniq('key'))
    .send({ recipientId, kind: 'SECURITY', title: 'Sign-in', body: 'Was this you?' });
  expect(res.status).toBe(202);
  const attempts = await ctx.database.db
    .selectFrom('delivery_attempts')
    .select(['channel', 'address'])
    .where('notification_id', '=', res.body.notificationId)
    .execute();
  return attempts.filter((a) => a.channel === 'PUSH').map((a) => a.address);
}

describe('POST /devices with a token registered to another recipient', () => {
  it('moves the token to the new recipient: the previous owner stops receiving on it, the new one receives', async () => {
    const previous = await recipient();
    const next = await recipient();
    const token = deviceToken(uniq('t'));
    const first = await register(previous, token);
    expect(first.status).toBe(201);
    expect(await pushAddressesOfNextNotification(previous)).toEqual([token]);

    const moved = await register(next, token, 'IOS');
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ id: first.body.id, recipientId: next, platform: 'IOS', active: true });

    expect(await pushAddressesOfNextNotification(previous)).toEqual([]);
    expect(await pushAddressesOfNextNotification(next)).toEqual([token]);
    const rows = await ctx.database.db.selectFrom('device_tokens').select(['recipient_id', 'active']).where('token', '=', token).execute();
    expect(rows).toEqual([{ recipient_id: next, active: true }]);
  });

  it('reactivates a token disabled under its previous owner', async () => {
    const previous = await recipient();
    const next = await recipient();
    const token = deviceToken(uniq('dead'));
    const first = await register(previous, token);
    // As a dispatcher does after the vendor answered "not registered" (test seeding).
    await ctx.database.db.updateTable('device_tokens').set({ active: false, disabled_reason: 'invalid_recipient: unregistered' }).where('id', '=', first.body.id).execute();
    const moved = await register(next, token);
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ recipientId: next, active: true });
    const row = await ctx.database.db.selectFrom('device_tokens').select(['active', 'disabled_reason']).where('id', '=', first.body.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ active: true, disabled_reason: null });
  });

  it('keeps one row when the same token is registered for two recipients at once', async () => {
    const recipients = [await recipient(), await recipient(), await recipient()];
    const token = deviceToken(uniq('race'));
    const answers = await Promise.all(recipients.flatMap((id) => [register(id, token), register(id, token)]));
    for (const res of answers) expect([200, 201]).toContain(res.status);
    expect(answers.filter((res) => res.status === 201)).toHaveLength(1);
    expect(new Set(answers.map((res) => res.body.id)).size).toBe(1);
    // Each answer names the recipient it was registered for (never another recipient's id).
    answers.forEach((res, i) => expect(res.body.recipientId).toBe(recipients[Math.floor(i / 2)]));
    const rows = await ctx.database.db.selectFrom('device_tokens').select('recipient_id').where('token', '=', token).execute();
    expect(rows).toHaveLength(1);
    expect(recipients).toContain(rows[0]!.recipient_id);
  });

  it('returns the existing registration, unchanged, when the token is registered again for the same recipient', async () => {
    const owner = await recipient();
    const token = deviceToken(uniq('same'));
    const first = await register(owner, token, 'WEB');
    const rows = () => ctx.database.db.selectFrom('device_tokens').select(['id', 'updated_at']).where('token', '=', token).execute();
    const before = await rows();
    const again = await register(owner, token, 'WEB');
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await rows()).toEqual(before);
  });
});

describe('device handover between callers (authentication on)', () => {
  let jwks: Jwks;
  beforeAll(async () => {
    jwks = await startJwks();
  });
  afterAll(async () => {
    await jwks?.close();
  });

  it('moves a token to another caller’s recipient without telling that caller who held it', async () => {
    const { app: authed } = ingestApp(ctx, { env: jwks.env, clock: testClock(NOON_SEOUL).now });
    const a = `Bearer ${await jwks.token({ sub: 'svc-a' })}`;
    const b = `Bearer ${await jwks.token({ sub: 'svc-b' })}`;
    const ra = uniq('ra');
    const rb = uniq('rb');
    await request(authed).put(`/api/v1/recipients/${ra}`).set('Authorization', a).send({ channels: [] }).expect(201);
    await request(authed).put(`/api/v1/recipients/${rb}`).set('Authorization', b).send({ channels: [] }).expect(201);
    const token = deviceToken(uniq('x'));
    const first = await request(authed).post('/api/v1/devices').set('Authorization', a).send({ recipientId: ra, platform: 'IOS', token });
    expect(first.status).toBe(201);
    const moved = await request(authed).post('/api/v1/devices').set('Authorization', b).send({ recipientId: rb, platform: 'IOS', token });
    expect(moved.status).toBe(200);
    expect(moved.body).toEqual({ id: first.body.id, recipientId: rb, platform: 'IOS', active: true, createdAt: first.body.createdAt });
    // The previous owner's caller no longer controls the registration.
    expect((await request(authed).delete(`/api/v1/devices/${first.body.id}`).set('Authorization', a)).status).toBe(404);
  });
});
