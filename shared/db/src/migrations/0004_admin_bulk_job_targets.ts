import type { Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> and never import the app's table types.

// The exact set of DLQ attempts a bulk job was confirmed for, captured in the transaction that
// creates the job. The job works through this list (keyset on attempt_id), so an attempt that
// becomes EXHAUSTED after the operator confirmed is never swept in, and one that left the DLQ
// in the meantime is reported as a failed item instead of silently disappearing.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('bulk_job_targets')
    .addColumn('job_id', 'uuid', (c) => c.notNull().references('bulk_jobs.id').onDelete('cascade'))
    .addColumn('attempt_id', 'uuid', (c) => c.notNull())
    .addPrimaryKeyConstraint('bulk_job_targets_pk', ['job_id', 'attempt_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('bulk_job_targets').ifExists().execute();
}
