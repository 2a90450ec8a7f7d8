import { sql, type Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> and never import the app's table types.

// delivery_attempts_due_retry covered every PENDING attempt and delivery_attempts_lease every
// DISPATCHING one. The dispatchers' batched claim (`status = 'PENDING'`) and outcome update
// (`status = 'DISPATCHING'`) match those predicates, so whenever the table's statistics lag a
// burst (a fresh deployment, a backlog) the planner read the whole partial index for every
// batch instead of looking each id up by primary key: about a million index entries a second
// in bench:delivery, at the moment the hub is busiest. Requiring the column the index exists
// for makes both indexes unusable for those statements (their WHERE no longer implies the
// predicate), and keeps them small: a fresh attempt has no next_attempt_at. The maintenance
// queries that need them compare the column (`next_attempt_at <= now`, `lease_expires_at <
// now`), which implies IS NOT NULL, so they still use them.
//
// Plain (not CONCURRENTLY) index builds: migrations run in a transaction. On a large table run
// this migration in a quiet moment; the builds block writes to delivery_attempts while they run.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('delivery_attempts_due_retry').execute();
  await db.schema
    .createIndex('delivery_attempts_due_retry')
    .on('delivery_attempts')
    .column('next_attempt_at')
    .where(sql<boolean>`status = 'PENDING' and next_attempt_at is not null`)
    .execute();
  await db.schema.dropIndex('delivery_attempts_lease').execute();
  await db.schema
    .createIndex('delivery_attempts_lease')
    .on('delivery_attempts')
    .column('lease_expires_at')
    .where(sql<boolean>`status = 'DISPATCHING' and lease_expires_at is not null`)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('delivery_attempts_due_retry').execute();
  await db.schema.createIndex('delivery_attempts_due_retry').on('delivery_attempts').column('next_attempt_at').where(sql.ref('status'), '=', 'PENDING').execute();
  await db.schema.dropIndex('delivery_attempts_lease').execute();
  await db.schema.createIndex('delivery_attempts_lease').on('delivery_attempts').column('lease_expires_at').where(sql.ref('status'), '=', 'DISPATCHING').execute();
}
