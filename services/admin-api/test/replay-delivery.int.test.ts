// A replayed DLQ entry goes the whole way again: admin-api writes the outbox row, the relay
// publishes it and the channel's dispatcher delivers it (both as separate processes).
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, pollUntil, startService, type ServiceProcess, type TestContext } from '@hub/testing';
import { createApp } from '../src/app.ts';
import { adminDeps, seedAttempts, seedNotification, startRunner, TOKEN } from './harness.ts';
import type { BulkJobRunner } from '../src/jobs/bulk-job-runner.ts';

let ctx: TestContext;
let app: ReturnType<typeof createApp>;
let runner: BulkJobRunner;
const processes: ServiceProcess[] = [];

async function start(service: string): Promise<void> {
  const { process: child } = await startService(service, { ...ctx.env, RELAY_POLL_INTERVAL_MS: '200' });
  processes.push(child);
}

beforeAll(async () => {
  ctx = await createTestContext();
  const deps = adminDeps(ctx);
  app = createApp(deps);
  runner = startRunner(deps);
  await Promise.all([start('outbox-relay'), start('dispatcher-email')]);
}, 120_000);

afterAll(async () => {
  await runner?.stop();
  for (const p of processes) p.kill('SIGTERM');
  await Promise.all(processes.map((p) => p.exited));
  await ctx?.close();
});

const attempt = (id: string) =>
  ctx.database.db.selectFrom('delivery_attempts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('replaying a DLQ entry with the delivery pipeline running', () => {
  it('publishes the replayed attempt again and the dispatcher delivers it', async () => {
    // Exhausted during a vendor outage; the address itself is deliverable.
    const notificationId = await seedNotification(ctx.database.db, 'TRANSACTIONAL', 'COMPLETED');
    const [id] = await seedAttempts(ctx.database.db, {
      count: 1,
      channel: 'EMAIL',
      kind: 'TRANSACTIONAL',
      address: 'success@simulator.amazonses.com',
      failureReason: 'transient: SES 503',
      notificationId,
    });
    const res = await request(app).post(`/api/v1/admin/dlq/${id}/replay`).set('X-Admin-Token', TOKEN);
    expect(res.status).toBe(200);

    const delivered = await pollUntil(
      'the replayed attempt is delivered',
      async () => {
        const row = await attempt(id!);
        return row.status === 'SUCCEEDED' ? row : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(delivered.vendor_message_id).not.toBeNull();
    const outbox = await ctx.database.db.selectFrom('outbox').selectAll().execute();
    const published = outbox.filter((o) => o.payload.attemptId === id && o.payload.type === 'delivery.requested');
    expect(published).toHaveLength(1);
    expect(published[0]!.published_at).not.toBeNull();
    const notification = await ctx.database.db.selectFrom('notifications').select('status').where('id', '=', notificationId).executeTakeFirstOrThrow();
    expect(notification.status).toBe('COMPLETED');
  });

  it('delivers every attempt of a bulk replay', async () => {
    const ids = await seedAttempts(ctx.database.db, {
      count: 20,
      channel: 'EMAIL',
      address: 'success@simulator.amazonses.com',
      failureReason: 'transient: SES 503',
      updatedAt: new Date('2026-11-23T00:00:00Z'),
    });
    const res = await request(app)
      .post('/api/v1/admin/dlq/bulk-replay')
      .set('X-Admin-Token', TOKEN)
      .send({ channel: 'EMAIL', from: '2026-11-23T00:00:00Z', to: '2026-11-23T00:01:00Z', confirm: true });
    expect(res.status).toBe(202);
    await pollUntil(
      'every replayed attempt is delivered',
      async () => {
        const rows = await ctx.database.db.selectFrom('delivery_attempts').select('status').where('id', 'in', ids).execute();
        return rows.every((r) => r.status === 'SUCCEEDED');
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    const job = await request(app).get(`/api/v1/admin/dlq/bulk-jobs/${res.body.jobId}`).set('X-Admin-Token', TOKEN);
    expect(job.body).toMatchObject({ state: 'SUCCEEDED', successCount: 20 });
  });
});
