import { sql } from 'kysely';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, pollUntil, type TestContext } from '@hub/testing';
import { createApp } from '../src/app.ts';
import type { BulkJobRunner } from '../src/jobs/bulk-job-runner.ts';
import { ACTOR, adminDeps, seedAttempts, startRunner, TOKEN } from './harness.ts';

let ctx: TestContext;
let deps: ReturnType<typeof adminDeps>;
let app: ReturnType<typeof createApp>;
const runners: BulkJobRunner[] = [];

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  deps = adminDeps(ctx);
  app = createApp(deps);
});
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
});
afterAll(async () => {
  await ctx.close();
});

const post = (path: string, body: object) => request(app).post(`/api/v1/admin${path}`).set('X-Admin-Token', TOKEN).send(body);
const getJob = (jobId: string) => request(app).get(`/api/v1/admin/dlq/bulk-jobs/${jobId}`).set('X-Admin-Token', TOKEN);
const statuses = async (ids: string[]) =>
  (await ctx.database.db.selectFrom('delivery_attempts').select('status').where('id', 'in', ids).execute()).map((r) => r.status);
const audit = (action: string) =>
  ctx.database.db.selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('id').execute();
const finished = (jobId: string) =>
  pollUntil(`bulk job ${jobId} finished`, async () => {
    const res = await getJob(jobId);
    return res.body.state !== 'RUNNING' ? res.body : undefined;
  });

// Each test uses its own channel/time so earlier tests' leftovers never match its filters.
let minute = 0;
const slot = () => new Date(Date.UTC(2026, 10, 20, 0, minute++));
const window = (at: Date) => ({ from: at.toISOString(), to: new Date(at.getTime() + 60_000).toISOString() });

describe('bulk dry run', () => {
  it('counts and samples without changing anything unless confirm is true, and audits the dry run', async () => {
    const at = slot();
    const ids = await seedAttempts(ctx.database.db, { count: 12, channel: 'EMAIL', updatedAt: at });
    for (const confirm of [undefined, false]) {
      const res = await post('/dlq/bulk-replay', { channel: 'EMAIL', ...window(at), ...(confirm === undefined ? {} : { confirm }) });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ mode: 'DRY_RUN', estimatedCount: 12, sampleAttemptIds: ids.slice(0, 10), jobId: null });
    }
    expect(new Set(await statuses(ids))).toEqual(new Set(['EXHAUSTED']));
    const dryRuns = await audit('DLQ_BULK_REPLAY_DRYRUN');
    expect(dryRuns.at(-1)).toMatchObject({ actor: ACTOR, target_type: 'dlq' });
    expect(dryRuns.at(-1)!.details).toMatchObject({ estimatedCount: 12, filters: { channel: 'EMAIL', ...window(at) } });
    expect(await ctx.database.db.selectFrom('bulk_jobs').selectAll().execute()).toEqual([]);
  });

  it('requires a reason for a bulk discard, even as a dry run', async () => {
    const res = await post('/dlq/bulk-discard', { channel: 'SMS' });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'body.reason', message: 'required for a bulk discard' }]);
    const ok = await post('/dlq/bulk-discard', { channel: 'SMS', reason: 'number ported' });
    expect(ok.status).toBe(200);
    expect(ok.body.mode).toBe('DRY_RUN');
    expect((await audit('DLQ_BULK_DISCARD_DRYRUN')).at(-1)!.details).toMatchObject({ reason: 'number ported' });
  });

  it('rejects bad filters and a confirm that is not a boolean with 400, creating no job', async () => {
    for (const body of [
      { confirm: 'true' },
      { confirm: 1 },
      { channel: 'FAX' },
      { errorType: 'flaky' },
      { from: 'last tuesday' },
      { from: '2026-11-25T12:00:00Z', to: '2026-11-25T10:00:00Z', confirm: true },
      { chanel: 'EMAIL', confirm: true },
      { reason: '' },
    ]) {
      const res = await post('/dlq/bulk-replay', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('BAD_REQUEST');
    }
    expect(await ctx.database.db.selectFrom('bulk_jobs').selectAll().execute()).toEqual([]);
  });
});

describe('bulk jobs', () => {
  it('persists a confirmed replay as a RUNNING job that a runner completes, with correct counts and audit', async () => {
    const at = slot();
    const ids = await seedAttempts(ctx.database.db, { count: 25, channel: 'PUSH', updatedAt: at });
    const other = await seedAttempts(ctx.database.db, { count: 3, channel: 'SMS', updatedAt: at });
    const res = await post('/dlq/bulk-replay', { channel: 'PUSH', ...window(at), confirm: true, reason: 'FCM is back' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ mode: 'EXECUTING', jobId: expect.any(String), totalCount: 25 });
    const jobId = res.body.jobId as string;

    const row = await ctx.database.db.selectFrom('bulk_jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'RUNNING', operation: 'REPLAY', total_count: 25, snapshot_max_id: ids.at(-1), actor: ACTOR, reason: 'FCM is back' });
    expect(row.filters).toMatchObject({ channel: 'PUSH', ...window(at), topic: null, errorType: null });
    expect((await getJob(jobId)).body).toMatchObject({ state: 'RUNNING', totalCount: 25, processedCount: 0 });

    // Exhausted after the operator confirmed: not part of what was confirmed.
    const late = await seedAttempts(ctx.database.db, { count: 2, channel: 'PUSH', updatedAt: at });

    runners.push(startRunner(deps, { pageSize: 10 }));
    const job = await finished(jobId);
    expect(job).toMatchObject({ state: 'SUCCEEDED', totalCount: 25, processedCount: 25, successCount: 25, failureCount: 0, firstError: null });
    expect(new Set(await statuses(ids))).toEqual(new Set(['PENDING']));
    expect(new Set(await statuses([...other, ...late]))).toEqual(new Set(['EXHAUSTED']));

    const outbox = await ctx.database.db.selectFrom('outbox').select('payload').execute();
    const replayed = outbox.map((o) => o.payload.attemptId as string).filter((id) => ids.includes(id));
    expect(replayed.sort()).toEqual(ids);

    expect((await audit('DLQ_BULK_REPLAY_START')).map((a) => a.target_id)).toContain(jobId);
    const finish = (await audit('DLQ_BULK_REPLAY_FINISH')).find((a) => a.target_id === jobId);
    expect(finish).toMatchObject({ actor: ACTOR });
    expect(finish!.details).toMatchObject({ state: 'SUCCEEDED', successCount: 25, failureCount: 0, reason: 'FCM is back' });
  });

  it('ends PARTIAL_FAILURE with firstError when some attempts left the DLQ before the job reached them', async () => {
    const at = slot();
    const ids = await seedAttempts(ctx.database.db, { count: 8, channel: 'KAKAO_ALIMTALK', updatedAt: at });
    const res = await post('/dlq/bulk-replay', { channel: 'KAKAO_ALIMTALK', ...window(at), confirm: true });
    const jobId = res.body.jobId as string;
    // Another operator handles two of them one by one before any runner gets to the job.
    expect((await post(`/dlq/${ids[2]}/discard`, {})).status).toBe(200);
    expect((await post(`/dlq/${ids[5]}/replay`, {})).status).toBe(200);

    runners.push(startRunner(deps, { pageSize: 3 }));
    const job = await finished(jobId);
    expect(job).toMatchObject({ state: 'PARTIAL_FAILURE', totalCount: 8, processedCount: 8, successCount: 6, failureCount: 2 });
    expect(job.firstError).toBe(`attempt ${ids[2]} is PERMANENTLY_FAILED, no longer EXHAUSTED`);
    const failedItems = await ctx.database.db
      .selectFrom('bulk_job_items')
      .select(['attempt_id', 'error'])
      .where('job_id', '=', jobId)
      .where('outcome', '=', 'FAILED')
      .orderBy('attempt_id')
      .execute();
    expect(failedItems.map((i) => i.attempt_id)).toEqual([ids[2], ids[5]]);
    // The replayed one was published once, by the single replay, not again by the job.
    const outbox = await ctx.database.db.selectFrom('outbox').select('payload').execute();
    expect(outbox.filter((o) => o.payload.attemptId === ids[5])).toHaveLength(1);
  });

  it('ends FAILED when every item failed', async () => {
    const at = slot();
    const ids = await seedAttempts(ctx.database.db, { count: 2, channel: 'KAKAO_ALIMTALK', updatedAt: at });
    const jobId = (await post('/dlq/bulk-discard', { ...window(at), confirm: true, reason: 'cleanup' })).body.jobId as string;
    for (const id of ids) expect((await post(`/dlq/${id}/replay`, {})).status).toBe(200);
    runners.push(startRunner(deps));
    const job = await finished(jobId);
    expect(job).toMatchObject({ state: 'FAILED', totalCount: 2, processedCount: 2, successCount: 0, failureCount: 2 });
    expect(job.firstError).toMatch(/is PENDING, no longer EXHAUSTED/);
  });

  it('discards in bulk, completing notifications whose attempts are now all final', async () => {
    const at = slot();
    const ids = await seedAttempts(ctx.database.db, { count: 5, channel: 'EMAIL', updatedAt: at, failureReason: 'invalid_recipient: no mailbox' });
    const keep = await seedAttempts(ctx.database.db, { count: 2, channel: 'EMAIL', updatedAt: at, failureReason: 'transient: 503' });
    const res = await post('/dlq/bulk-discard', { ...window(at), errorType: 'invalid_recipient', confirm: true, reason: 'addresses gone' });
    expect(res.body.totalCount).toBe(5);
    runners.push(startRunner(deps));
    const job = await finished(res.body.jobId);
    expect(job).toMatchObject({ state: 'SUCCEEDED', successCount: 5, operation: 'DISCARD', reason: 'addresses gone' });
    expect(new Set(await statuses(ids))).toEqual(new Set(['PERMANENTLY_FAILED']));
    expect(new Set(await statuses(keep))).toEqual(new Set(['EXHAUSTED']));
    const notifications = await ctx.database.db
      .selectFrom('notifications')
      .innerJoin('delivery_attempts', 'delivery_attempts.notification_id', 'notifications.id')
      .select('notifications.status')
      .where('delivery_attempts.id', 'in', ids)
      .execute();
    expect(new Set(notifications.map((n) => n.status))).toEqual(new Set(['COMPLETED']));
    expect((await audit('DLQ_BULK_DISCARD_FINISH')).some((a) => a.target_id === res.body.jobId)).toBe(true);
  });

  it('records an attempt whose transaction the database refuses as a failed item and carries on', async () => {
    const at = slot();
    const ids = await seedAttempts(ctx.database.db, { count: 6, channel: 'PUSH', updatedAt: at });
    const poisoned = ids[3]!;
    await sql`
      create function refuse_poisoned() returns trigger language plpgsql as $$
      begin
        if new.id = ${sql.lit(poisoned)}::uuid then raise exception 'row is locked by a migration'; end if;
        return new;
      end $$`.execute(ctx.database.db);
    await sql`create trigger refuse_poisoned before update on delivery_attempts for each row execute function refuse_poisoned()`.execute(
      ctx.database.db,
    );
    try {
      const res = await post('/dlq/bulk-replay', { channel: 'PUSH', ...window(at), confirm: true });
      runners.push(startRunner(deps, { pageSize: 4 }));
      const job = await finished(res.body.jobId);
      expect(job).toMatchObject({ state: 'PARTIAL_FAILURE', totalCount: 6, processedCount: 6, successCount: 5, failureCount: 1 });
      expect(job.firstError).toBe(`attempt ${poisoned} could not be processed: row is locked by a migration`);
      expect(await statuses([poisoned])).toEqual(['EXHAUSTED']);
      const outbox = await ctx.database.db.selectFrom('outbox').select('payload').execute();
      expect(outbox.filter((o) => o.payload.attemptId === poisoned)).toEqual([]);
    } finally {
      await sql`drop trigger refuse_poisoned on delivery_attempts`.execute(ctx.database.db);
      await sql`drop function refuse_poisoned()`.execute(ctx.database.db);
    }
  });

  it('finishes a job that matched nothing as SUCCEEDED with zero counts', async () => {
    const res = await post('/dlq/bulk-replay', { topic: 'no.such.topic', confirm: true });
    expect(res.body).toMatchObject({ mode: 'EXECUTING', totalCount: 0 });
    runners.push(startRunner(deps));
    expect(await finished(res.body.jobId)).toMatchObject({ state: 'SUCCEEDED', totalCount: 0, processedCount: 0 });
  });

  it('answers 404 BULK_JOB_NOT_FOUND for an unknown job and 400 for a malformed id', async () => {
    const missing = await getJob('0190f0f0-0000-7000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('BULK_JOB_NOT_FOUND');
    expect((await getJob('job-1')).status).toBe(400);
  });

  it('exposes job progress metrics', async () => {
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toMatch(/admin_bulk_job_items_processed_total\{operation="REPLAY",outcome="SUCCEEDED",service="admin-api-test"\} \d+/);
    expect(metrics.text).toMatch(/admin_bulk_jobs_running\{operation="REPLAY",service="admin-api-test"\} 0/);
    expect(metrics.text).toMatch(/admin_actions_total\{action="DLQ_BULK_REPLAY_FINISH",outcome="partial_failure",service="admin-api-test"\} 2/);
  });
});

// Last: the tests above expect no bulk job before theirs.
describe('bulk job start', () => {
  it('is claimed by the replica that created it at once, not at its next poll', async () => {
    const at = slot();
    const ids = await seedAttempts(ctx.database.db, { count: 5, channel: 'PUSH', updatedAt: at });
    const local = { ...adminDeps(ctx), bulkJobCreated: () => runner.wakeUp() };
    // Its first look finds nothing; its next poll would be ten minutes later.
    const runner = startRunner(local, { pollIntervalMs: 600_000 });
    runners.push(runner);
    await pollUntil('the runner waits for its next poll', () => runner.idle);
    const res = await request(createApp(local))
      .post('/api/v1/admin/dlq/bulk-replay')
      .set('X-Admin-Token', TOKEN)
      .send({ channel: 'PUSH', ...window(at), confirm: true });
    expect(res.status).toBe(202);
    expect(await finished(res.body.jobId)).toMatchObject({ state: 'SUCCEEDED', successCount: 5 });
    expect(new Set(await statuses(ids))).toEqual(new Set(['PENDING']));
  });
});
