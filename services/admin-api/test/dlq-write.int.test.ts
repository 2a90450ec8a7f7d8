import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryRequestedSchema } from '@hub/messaging';
import { createTestContext, type TestContext } from '@hub/testing';
import { createApp } from '../src/app.ts';
import { ACTOR, adminDeps, seedAttempts, seedNotification, TOKEN } from './harness.ts';

let ctx: TestContext;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  app = createApp(adminDeps(ctx));
});
afterAll(async () => {
  await ctx.close();
});

const post = (path: string, body?: object) => {
  const req = request(app).post(`/api/v1/admin${path}`).set('X-Admin-Token', TOKEN);
  return body ? req.send(body) : req;
};
const attempt = (id: string) =>
  ctx.database.db.selectFrom('delivery_attempts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const notification = (id: string) =>
  ctx.database.db.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const outboxFor = async (attemptId: string) =>
  (await ctx.database.db.selectFrom('outbox').selectAll().execute()).filter((r) => r.payload.attemptId === attemptId);
const auditFor = (targetId: string) =>
  ctx.database.db.selectFrom('audit_events').selectAll().where('target_id', '=', targetId).orderBy('id').execute();

describe('POST /dlq/{id}/replay', () => {
  it('moves the attempt to PENDING with retry 0 and writes one delivery.requested outbox row per the message contract', async () => {
    const notificationId = await seedNotification(ctx.database.db, 'SECURITY', 'COMPLETED');
    const [id] = await seedAttempts(ctx.database.db, { count: 1, channel: 'SMS', kind: 'SECURITY', notificationId });
    const res = await post(`/dlq/${id}/replay`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ attemptId: id, status: 'PENDING', retryCount: 0, topic: ctx.topics.delivery('SMS', true) });

    const row = await attempt(id!);
    expect(row).toMatchObject({ status: 'PENDING', retry_count: 0, next_attempt_at: null, completed_at: null });
    // The last failure stays visible until the next dispatch outcome replaces it.
    expect(row.failure_reason).toBe('permanent: 550 mailbox unavailable');

    const outbox = await outboxFor(id!);
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ topic: ctx.topics.delivery('SMS', true), message_key: 'user-1', published_at: null });
    expect(outbox[0]!.available_at.getTime()).toBeLessThanOrEqual(Date.now());
    const event = deliveryRequestedSchema.parse(outbox[0]!.payload);
    expect(event).toMatchObject({ type: 'delivery.requested', attemptId: id, notificationId, channel: 'SMS', priority: true, retryCount: 0 });

    // One of its attempts is no longer final, so the notification is no longer COMPLETED.
    expect(await notification(notificationId)).toMatchObject({ status: 'FANNED_OUT', completed_at: null });

    const audit = await auditFor(id!);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: ACTOR, action: 'DLQ_REPLAY', target_type: 'delivery_attempt' });
    expect(audit[0]!.details).toMatchObject({ notificationId, channel: 'SMS', topic: ctx.topics.delivery('SMS', true) });
  });

  it('records the operator reason when one is given', async () => {
    const [id] = await seedAttempts(ctx.database.db, { count: 1 });
    expect((await post(`/dlq/${id}/replay`, { reason: 'vendor outage over' })).status).toBe(200);
    expect((await auditFor(id!))[0]!.details).toMatchObject({ reason: 'vendor outage over' });
  });

  it('refuses an attempt that is not EXHAUSTED with 409 ILLEGAL_DLQ_OPERATION and writes nothing', async () => {
    for (const status of ['PENDING', 'DISPATCHING', 'SUCCEEDED', 'PERMANENTLY_FAILED'] as const) {
      const [id] = await seedAttempts(ctx.database.db, { count: 1, status });
      const res = await post(`/dlq/${id}/replay`);
      expect(res.status, status).toBe(409);
      expect(res.body).toMatchObject({ code: 'ILLEGAL_DLQ_OPERATION', attemptStatus: status });
      expect((await attempt(id!)).status).toBe(status);
      expect(await outboxFor(id!)).toEqual([]);
      expect(await auditFor(id!)).toEqual([]);
    }
  });

  it('replays an attempt only once when asked twice at the same time', async () => {
    const [id] = await seedAttempts(ctx.database.db, { count: 1 });
    const results = await Promise.all([post(`/dlq/${id}/replay`), post(`/dlq/${id}/replay`), post(`/dlq/${id}/replay`)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    expect(await outboxFor(id!)).toHaveLength(1);
  });

  it('answers 404 for an unknown attempt and 400 for a malformed id or body', async () => {
    const missing = await post('/dlq/0190f0f0-0000-7000-8000-000000000000/replay');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('ATTEMPT_NOT_FOUND');
    expect((await post('/dlq/nope/replay')).status).toBe(400);
    const [id] = await seedAttempts(ctx.database.db, { count: 1 });
    expect((await post(`/dlq/${id}/replay`, { force: true })).status).toBe(400);
    const notJson = await request(app)
      .post(`/api/v1/admin/dlq/${id}/replay`)
      .set('X-Admin-Token', TOKEN)
      .set('Content-Type', 'application/json')
      .send('{oops');
    expect(notJson.status).toBe(400);
    expect((await attempt(id!)).status).toBe('EXHAUSTED');
  });
});

describe('POST /dlq/{id}/discard', () => {
  it('moves the attempt to PERMANENTLY_FAILED, audits the reason and completes the notification once every attempt is final', async () => {
    const notificationId = await seedNotification(ctx.database.db);
    await seedAttempts(ctx.database.db, { count: 1, status: 'SUCCEEDED', failureReason: null, notificationId });
    const [id] = await seedAttempts(ctx.database.db, { count: 1, notificationId });
    const res = await post(`/dlq/${id}/discard`, { reason: 'customer closed account' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ attemptId: id, status: 'PERMANENTLY_FAILED' });
    const row = await attempt(id!);
    expect(row.status).toBe('PERMANENTLY_FAILED');
    expect(row.failure_reason).toBe('permanent: 550 mailbox unavailable');
    expect(row.completed_at).not.toBeNull();
    expect(await notification(notificationId)).toMatchObject({ status: 'COMPLETED' });
    expect(await outboxFor(id!)).toEqual([]);
    const audit = await auditFor(id!);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: ACTOR, action: 'DLQ_DISCARD' });
    expect(audit[0]!.details).toMatchObject({ reason: 'customer closed account', notificationId });
  });

  it('completes a SCHEDULED notification too, by the same rule as every other completion', async () => {
    // Deferred past quiet hours, its only attempt then exhausted: the discard is its last word.
    const notificationId = await seedNotification(ctx.database.db, 'MARKETING', 'SCHEDULED');
    const [id] = await seedAttempts(ctx.database.db, { count: 1, notificationId });
    expect((await post(`/dlq/${id}/discard`, { reason: 'campaign over' })).status).toBe(200);
    expect(await notification(notificationId)).toMatchObject({ status: 'COMPLETED' });
    expect((await notification(notificationId)).completed_at).not.toBeNull();
  });

  it('leaves the notification open while another attempt is still in flight', async () => {
    const notificationId = await seedNotification(ctx.database.db);
    await seedAttempts(ctx.database.db, { count: 1, status: 'PENDING', failureReason: null, notificationId });
    const [id] = await seedAttempts(ctx.database.db, { count: 1, notificationId });
    expect((await post(`/dlq/${id}/discard`)).status).toBe(200);
    expect((await notification(notificationId)).status).toBe('FANNED_OUT');
    expect((await auditFor(id!))[0]!.details).toMatchObject({ reason: null });
  });

  it('refuses an attempt that is not EXHAUSTED with 409 and an unknown one with 404', async () => {
    const [id] = await seedAttempts(ctx.database.db, { count: 1 });
    expect((await post(`/dlq/${id}/discard`)).status).toBe(200);
    const again = await post(`/dlq/${id}/discard`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'ILLEGAL_DLQ_OPERATION', attemptStatus: 'PERMANENTLY_FAILED' });
    const replay = await post(`/dlq/${id}/replay`);
    expect(replay.status).toBe(409);
    const missing = await post('/dlq/0190f0f0-0000-7000-8000-000000000000/discard');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('ATTEMPT_NOT_FOUND');
  });

  it('rejects an empty or oversized reason with 400', async () => {
    const [id] = await seedAttempts(ctx.database.db, { count: 1 });
    expect((await post(`/dlq/${id}/discard`, { reason: '  ' })).status).toBe(400);
    expect((await post(`/dlq/${id}/discard`, { reason: 'x'.repeat(1001) })).status).toBe(400);
    expect((await post(`/dlq/${id}/discard`, { reason: 42 })).status).toBe(400);
    expect((await attempt(id!)).status).toBe('EXHAUSTED');
  });
});

describe('DELETE /dlq/{id}', () => {
  it('is always refused with 405 HARD_DELETE_NOT_SUPPORTED and deletes nothing', async () => {
    const [id] = await seedAttempts(ctx.database.db, { count: 1 });
    for (const target of [id, '0190f0f0-0000-7000-8000-000000000000', 'not-a-uuid']) {
      const res = await request(app).delete(`/api/v1/admin/dlq/${target}`).set('X-Admin-Token', TOKEN);
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET');
      expect(res.body.code).toBe('HARD_DELETE_NOT_SUPPORTED');
    }
    expect((await attempt(id!)).status).toBe('EXHAUSTED');
  });
});

describe('metrics', () => {
  it('counts admin actions by action and outcome', async () => {
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toMatch(/admin_actions_total\{action="DLQ_REPLAY",outcome="done",service="admin-api-test"\} \d+/);
    expect(metrics.text).toMatch(/admin_actions_total\{action="DLQ_REPLAY",outcome="refused",service="admin-api-test"\} \d+/);
    expect(metrics.text).toMatch(/admin_actions_total\{action="DLQ_DELETE",outcome="refused",service="admin-api-test"\} 3/);
  });
});
