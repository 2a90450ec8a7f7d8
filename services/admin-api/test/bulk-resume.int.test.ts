import { sql } from 'kysely';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, pollUntil, startService, type ServiceProcess, type TestContext } from '@hub/testing';
import { createApp } from '../src/app.ts';
import type { BulkJobRunner } from '../src/jobs/bulk-job-runner.ts';
import { adminDeps, seedAttempts, startRunner, TOKEN } from './harness.ts';

let ctx: TestContext;
const runners: BulkJobRunner[] = [];
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
});
// Each test starts its own runners; one left over would pick up the next test's job.
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
});
afterAll(async () => {
  for (const p of processes) p.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  await ctx.close();
});

const itemCount = async (jobId: string) =>
  Number(
    (
      await ctx.database.db
        .selectFrom('bulk_job_items')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('job_id', '=', jobId)
        .executeTakeFirstOrThrow()
    ).n,
  );

/** Every attempt replayed exactly once: one item and one outbox row per attempt, all PENDING. */
async function expectEachReplayedOnce(jobId: string, ids: string[]) {
  expect(await itemCount(jobId)).toBe(ids.length);
  const perAttempt = await sql<{ attempt_id: string; n: string }>`
    select payload->>'attemptId' as attempt_id, count(*) as n from outbox
    where payload->>'attemptId' = any(${ids}) group by 1`.execute(ctx.database.db);
  expect(perAttempt.rows).toHaveLength(ids.length);
  expect(perAttempt.rows.filter((r) => Number(r.n) !== 1)).toEqual([]);
  const statuses = await ctx.database.db
    .selectFrom('delivery_attempts')
    .select(({ fn }) => ['status', fn.countAll<string>().as('n')])
    .where('id', 'in', ids)
    .groupBy('status')
    .execute();
  expect(statuses.map((s) => ({ status: s.status, n: Number(s.n) }))).toEqual([{ status: 'PENDING', n: ids.length }]);
}

describe('bulk replay across replicas and restarts', () => {
  it('replays 10,000 attempts exactly once while another instance runs and the first one is restarted mid-job', async () => {
    const at = new Date('2026-11-21T00:00:00Z');
    const ids = await seedAttempts(ctx.database.db, { count: 10_000, channel: 'EMAIL', updatedAt: at });
    const one = adminDeps(ctx);
    const two = adminDeps(ctx);
    const appOne = createApp(one);
    const appTwo = createApp(two);

    const runnerOne = startRunner(one, { pageSize: 200 });
    runners.push(runnerOne);
    const started = await request(appOne)
      .post('/api/v1/admin/dlq/bulk-replay')
      .set('X-Admin-Token', TOKEN)
      .send({ channel: 'EMAIL', confirm: true, reason: 'SES recovered' });
    expect(started.status).toBe(202);
    expect(started.body.totalCount).toBe(10_000);
    const jobId = started.body.jobId as string;

    // A second admin-api instance with its own runner competes for the job the whole time.
    runners.push(startRunner(two, { pageSize: 200 }));
    await pollUntil('the job is well under way', async () => (await itemCount(jobId)) >= 2_000, { timeoutMs: 120_000 });

    // Restart the first instance in the middle of the job.
    await runnerOne.stop();
    runners.splice(runners.indexOf(runnerOne), 1);
    const progress = await request(appTwo).get(`/api/v1/admin/dlq/bulk-jobs/${jobId}`).set('X-Admin-Token', TOKEN);
    expect(progress.body.state).toBe('RUNNING');
    expect(progress.body.processedCount).toBeGreaterThan(0);
    expect(progress.body.processedCount).toBeLessThan(10_000);
    runners.push(startRunner(adminDeps(ctx), { pageSize: 200 }));

    const job = await pollUntil(
      'the job finished',
      async () => {
        const res = await request(appTwo).get(`/api/v1/admin/dlq/bulk-jobs/${jobId}`).set('X-Admin-Token', TOKEN);
        return res.body.state !== 'RUNNING' ? res.body : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 200 },
    );
    expect(job).toMatchObject({
      state: 'SUCCEEDED',
      totalCount: 10_000,
      processedCount: 10_000,
      successCount: 10_000,
      failureCount: 0,
      firstError: null,
    });
    await expectEachReplayedOnce(jobId, ids);
    const finishes = await ctx.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('target_id', '=', jobId)
      .orderBy('id')
      .execute();
    expect(finishes.map((a) => a.action)).toEqual(['DLQ_BULK_REPLAY_START', 'DLQ_BULK_REPLAY_FINISH']);
  }, 300_000);

  it('resumes a job whose admin-api process was killed mid-job once its lease expires, without redoing items', async () => {
    const at = new Date('2026-11-22T00:00:00Z');
    const ids = await seedAttempts(ctx.database.db, { count: 3_000, channel: 'SMS', updatedAt: at });
    const admin = await startAdminProcess();
    const started = await fetch(`${admin.base}/api/v1/admin/dlq/bulk-replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-token': TOKEN },
      body: JSON.stringify({ channel: 'SMS', confirm: true }),
    });
    expect(started.status).toBe(202);
    const { jobId } = (await started.json()) as { jobId: string };
    await pollUntil('the process is working the job', async () => (await itemCount(jobId)) >= 300, { timeoutMs: 90_000 });

    admin.process.kill('SIGKILL');
    await admin.process.exited;
    const orphaned = await ctx.database.db.selectFrom('bulk_jobs').select(['state', 'lease_owner']).where('id', '=', jobId).executeTakeFirstOrThrow();
    expect(orphaned.state).toBe('RUNNING');
    expect(orphaned.lease_owner).not.toBeNull();

    const deps = adminDeps(ctx);
    runners.push(startRunner(deps, { pageSize: 200, leaseMs: 1_000 }));
    const job = await pollUntil(
      'the job finished',
      async () => {
        const res = await request(createApp(adminDeps(ctx))).get(`/api/v1/admin/dlq/bulk-jobs/${jobId}`).set('X-Admin-Token', TOKEN);
        return res.body.state !== 'RUNNING' ? res.body : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    expect(job).toMatchObject({ state: 'SUCCEEDED', totalCount: 3_000, processedCount: 3_000, successCount: 3_000, failureCount: 0 });
    await expectEachReplayedOnce(jobId, ids);
  }, 180_000);

  it('hands the job back on SIGTERM, exits 0, and another instance finishes it', async () => {
    const ids = await seedAttempts(ctx.database.db, { count: 2_000, channel: 'PUSH', updatedAt: new Date('2026-11-24T00:00:00Z') });
    const admin = await startAdminProcess();
    const started = await fetch(`${admin.base}/api/v1/admin/dlq/bulk-replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-token': TOKEN },
      body: JSON.stringify({ channel: 'PUSH', confirm: true }),
    });
    const { jobId } = (await started.json()) as { jobId: string };
    await pollUntil('the process is working the job', async () => (await itemCount(jobId)) >= 200, { timeoutMs: 90_000 });

    admin.process.kill('SIGTERM');
    expect(await admin.process.exited).toBe(0);
    const handedBack = await ctx.database.db
      .selectFrom('bulk_jobs')
      .select(['state', 'lease_owner', 'lease_expires_at', 'processed_count'])
      .where('id', '=', jobId)
      .executeTakeFirstOrThrow();
    expect(handedBack).toMatchObject({ state: 'RUNNING', lease_owner: null, lease_expires_at: null });
    expect(handedBack.processed_count).toBeGreaterThan(0);
    expect(handedBack.processed_count).toBe(await itemCount(jobId));

    runners.push(startRunner(adminDeps(ctx), { pageSize: 200 }));
    const job = await pollUntil(
      'the job finished',
      async () => {
        const row = await ctx.database.db.selectFrom('bulk_jobs').select(['state', 'success_count']).where('id', '=', jobId).executeTakeFirstOrThrow();
        return row.state !== 'RUNNING' ? row : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    expect(job).toEqual({ state: 'SUCCEEDED', success_count: 2_000 });
    await expectEachReplayedOnce(jobId, ids);
  }, 180_000);
});

/** admin-api as it runs in production (its bundle), with a short lease so a crash is noticed fast. */
async function startAdminProcess(): Promise<{ process: ServiceProcess; base: string }> {
  const started = await startService(
    'admin-api',
    { ...ctx.env, ADMIN_AUTH_TOKEN: TOKEN, BULK_LEASE_MS: '1000', BULK_POLL_INTERVAL_MS: '50', BULK_PAGE_SIZE: '50' },
    { timeoutMs: 30_000 },
  );
  processes.push(started.process);
  return { process: started.process, base: started.base };
}
