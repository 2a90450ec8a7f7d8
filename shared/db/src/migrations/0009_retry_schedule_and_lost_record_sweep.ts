import { sql, type Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> and never import the app's table types.

// SPEC §2 now retries a transient failure for ~31 minutes over 8 dispatches (2 s growing ×4 to
// 10 min) instead of 5: a vendor outage of a few minutes must end in deliveries, not in the DLQ.
// Attempts already written keep the count they were created with.
//
// SPEC §4's lost-record sweep: a PENDING attempt whose delivery request was published but never
// claimed (the Kafka record was lost) must be re-published. requested_at is when the attempt's
// current delivery request became due (created, re-driven, replayed, swept); the partial index
// covers exactly the attempts nothing else will move (PENDING with no retry scheduled), so the
// relay's sweep reads only those. A dispatcher's claim (`status = 'PENDING'` by id) does not
// imply `next_attempt_at is null`, so the planner never picks this index for it (see 0005).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table delivery_attempts alter column max_retry set default 8`.execute(db);
  await sql`alter table delivery_attempts add column requested_at timestamptz`.execute(db);
  await sql`update delivery_attempts set requested_at = created_at where status = 'PENDING'`.execute(db);
  await sql`
    create index delivery_attempts_unclaimed on delivery_attempts (requested_at)
    where status = 'PENDING' and next_attempt_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index delivery_attempts_unclaimed`.execute(db);
  await sql`alter table delivery_attempts drop column requested_at`.execute(db);
  await sql`alter table delivery_attempts alter column max_retry set default 5`.execute(db);
}
