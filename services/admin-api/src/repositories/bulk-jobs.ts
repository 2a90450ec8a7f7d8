import { sql } from 'kysely';
import type { BulkOperation, DbOrTx, Tx } from '@hub/db';
import { dlqWhere, type DlqFilter } from './dlq-filter.ts';

/** The snapshot table of migration 0004 (not part of the shared schema: only admin-api uses it). */
export interface BulkJobTargetsTable {
  job_id: string;
  attempt_id: string;
}
type WithTargets = { bulk_job_targets: BulkJobTargetsTable };

const JOB_COLUMNS = [
  'id',
  'operation',
  'filters',
  'reason',
  'actor',
  'state',
  'total_count',
  'processed_count',
  'success_count',
  'failure_count',
  'first_error',
  'cursor',
  'snapshot_max_id',
  'created_at',
  'updated_at',
  'finished_at',
] as const;

const leaseUntil = (leaseMs: number) => sql<Date>`now() + ${leaseMs} * interval '1 millisecond'`;

/**
 * Creates a RUNNING job and snapshots the DLQ entries it covers, in the caller's transaction:
 * what the operator confirmed is exactly what the job works through.
 */
export async function createBulkJob(
  tx: Tx,
  job: { id: string; operation: BulkOperation; filters: Record<string, unknown>; reason: string | null; actor: string },
  filter: DlqFilter,
): Promise<{ totalCount: number; snapshotMaxId: string | null }> {
  await tx
    .insertInto('bulk_jobs')
    .values({ ...job, state: 'RUNNING', total_count: 0 })
    .execute();
  await tx
    .withTables<WithTargets>()
    .insertInto('bulk_job_targets')
    .columns(['job_id', 'attempt_id'])
    .expression(
      tx
        .selectFrom('delivery_attempts')
        .select([sql<string>`${job.id}::uuid`.as('job_id'), 'delivery_attempts.id as attempt_id'])
        .where(dlqWhere(filter)),
    )
    .execute();
  const targets = tx.withTables<WithTargets>().selectFrom('bulk_job_targets').where('job_id', '=', job.id);
  // Postgres has no max(uuid); the primary key index answers "last id" directly.
  const [count, last] = await Promise.all([
    targets.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
    targets.select('attempt_id').orderBy('attempt_id', 'desc').limit(1).executeTakeFirst(),
  ]);
  const totalCount = Number(count.count);
  const snapshotMaxId = last?.attempt_id ?? null;
  await tx
    .updateTable('bulk_jobs')
    .set({ total_count: totalCount, snapshot_max_id: snapshotMaxId })
    .where('id', '=', job.id)
    .execute();
  return { totalCount, snapshotMaxId };
}

export async function findBulkJob(db: DbOrTx, jobId: string) {
  return db.selectFrom('bulk_jobs').select(JOB_COLUMNS).where('id', '=', jobId).executeTakeFirst();
}

export type BulkJobRow = NonNullable<Awaited<ReturnType<typeof findBulkJob>>>;

/**
 * Takes the lease of one RUNNING job nobody holds (new, released, or whose owner stopped
 * renewing: crashed). SKIP LOCKED lets replicas claim concurrently without waiting on each other;
 * lease times are the database's clock, the one clock every replica shares.
 */
export async function claimBulkJob(db: DbOrTx, owner: string, leaseMs: number): Promise<BulkJobRow | undefined> {
  return db
    .updateTable('bulk_jobs')
    .set({ lease_owner: owner, lease_expires_at: leaseUntil(leaseMs), updated_at: sql`now()` })
    .where('id', '=', (eb) =>
      eb
        .selectFrom('bulk_jobs')
        .select('id')
        .where('state', '=', 'RUNNING')
        .where((w) => w.or([w('lease_expires_at', 'is', null), w('lease_expires_at', '<', sql<Date>`now()`)]))
        .orderBy('created_at')
        .limit(1)
        .forUpdate()
        .skipLocked(),
    )
    .returning(JOB_COLUMNS)
    .executeTakeFirst();
}

/** The next page of the job's snapshot after `cursor`. */
export async function nextTargets(db: DbOrTx, jobId: string, cursor: string | null, limit: number): Promise<string[]> {
  let query = db
    .withTables<WithTargets>()
    .selectFrom('bulk_job_targets')
    .select('attempt_id')
    .where('job_id', '=', jobId);
  if (cursor) query = query.where('attempt_id', '>', cursor);
  const rows = await query.orderBy('attempt_id').limit(limit).execute();
  return rows.map((r) => r.attempt_id);
}

/**
 * Claims one item for this job. The (job_id, attempt_id) primary key makes a second claim, by a
 * resumed job or another replica, find the row and back off: no attempt is handled twice.
 */
export async function claimItem(tx: Tx, jobId: string, attemptId: string): Promise<boolean> {
  const row = await tx
    .insertInto('bulk_job_items')
    .values({ job_id: jobId, attempt_id: attemptId, outcome: 'SUCCEEDED', error: null })
    .onConflict((oc) => oc.columns(['job_id', 'attempt_id']).doNothing())
    .returning('attempt_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function markItemFailed(tx: Tx, jobId: string, attemptId: string, error: string): Promise<void> {
  await tx
    .updateTable('bulk_job_items')
    .set({ outcome: 'FAILED', error })
    .where('job_id', '=', jobId)
    .where('attempt_id', '=', attemptId)
    .execute();
}

/** Records an item whose own transaction failed; false if the item was handled meanwhile. */
export async function recordFailedItem(db: DbOrTx, jobId: string, attemptId: string, error: string): Promise<boolean> {
  const row = await db
    .insertInto('bulk_job_items')
    .values({ job_id: jobId, attempt_id: attemptId, outcome: 'FAILED', error })
    .onConflict((oc) => oc.columns(['job_id', 'attempt_id']).doNothing())
    .returning('attempt_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Counts and first error derived from the items themselves, so they stay true across crashes. */
export async function itemTotals(db: DbOrTx, jobId: string) {
  const [counts, first] = await Promise.all([
    db
      .selectFrom('bulk_job_items')
      .select((eb) => [
        eb.fn.countAll<string>().as('processed'),
        eb.fn.countAll<string>().filterWhere('outcome', '=', 'SUCCEEDED').as('succeeded'),
        eb.fn.countAll<string>().filterWhere('outcome', '=', 'FAILED').as('failed'),
      ])
      .where('job_id', '=', jobId)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('bulk_job_items')
      .select('error')
      .where('job_id', '=', jobId)
      .where('outcome', '=', 'FAILED')
      .orderBy('created_at')
      .orderBy('attempt_id')
      .limit(1)
      .executeTakeFirst(),
  ]);
  return {
    processed: Number(counts.processed),
    succeeded: Number(counts.succeeded),
    failed: Number(counts.failed),
    firstError: first?.error ?? null,
  };
}

/**
 * Saves progress after a page and renews the lease, only while `owner` still holds it. False
 * means the lease was lost (another replica took the job over): stop working on it.
 */
export async function saveProgress(
  db: DbOrTx,
  job: { id: string; owner: string; cursor: string; leaseMs: number },
): Promise<boolean> {
  const totals = await itemTotals(db, job.id);
  const row = await db
    .updateTable('bulk_jobs')
    .set({
      cursor: job.cursor,
      processed_count: totals.processed,
      success_count: totals.succeeded,
      failure_count: totals.failed,
      first_error: totals.firstError,
      lease_expires_at: leaseUntil(job.leaseMs),
      updated_at: sql`now()`,
    })
    .where('id', '=', job.id)
    .where('lease_owner', '=', job.owner)
    .where('state', '=', 'RUNNING')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Ends the job with its final counts; undefined when `owner` no longer holds it. */
export async function finishBulkJob(tx: Tx, job: { id: string; owner: string }) {
  const totals = await itemTotals(tx, job.id);
  const state = totals.failed === 0 ? 'SUCCEEDED' : totals.succeeded === 0 ? 'FAILED' : 'PARTIAL_FAILURE';
  return tx
    .updateTable('bulk_jobs')
    .set({
      state,
      processed_count: totals.processed,
      success_count: totals.succeeded,
      failure_count: totals.failed,
      first_error: totals.firstError,
      lease_owner: null,
      lease_expires_at: null,
      finished_at: sql`now()`,
      updated_at: sql`now()`,
    })
    .where('id', '=', job.id)
    .where('lease_owner', '=', job.owner)
    .where('state', '=', 'RUNNING')
    .returning(JOB_COLUMNS)
    .executeTakeFirst();
}

/** Hands the job back at once (graceful stop), instead of making others wait for the lease. */
export async function releaseBulkJob(db: DbOrTx, job: { id: string; owner: string }): Promise<void> {
  await db
    .updateTable('bulk_jobs')
    .set({ lease_owner: null, lease_expires_at: null, updated_at: sql`now()` })
    .where('id', '=', job.id)
    .where('lease_owner', '=', job.owner)
    .where('state', '=', 'RUNNING')
    .execute();
}
