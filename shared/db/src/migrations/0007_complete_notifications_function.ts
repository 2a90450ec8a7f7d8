import { sql, type Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> and never import the app's table types.

// Completing notifications took a transaction of four round trips per dispatcher batch (BEGIN,
// lock, check, COMMIT), on the hot path of every delivery. As a function it is one statement,
// atomic on its own when run outside a transaction. The protocol is unchanged: the open
// notifications are locked first, in id order (no deadlocks between batches), and the check runs
// in a query of its own. A VOLATILE plpgsql function takes a fresh snapshot for each query it
// runs, so the check sees every attempt whose transaction committed before the lock was
// granted: two attempts finishing at once cannot both see the other as unfinished.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function complete_notifications(ids uuid[], at timestamptz) returns void
    language plpgsql volatile as $$
    begin
      perform 1 from notifications
      where id = any(ids) and status in ('FANNED_OUT', 'SCHEDULED')
      order by id
      for update;
      update notifications n
      set status = 'COMPLETED', completed_at = at, updated_at = at
      where n.id = any(ids) and n.status in ('FANNED_OUT', 'SCHEDULED')
        and not exists (
          select 1 from delivery_attempts a
          where a.notification_id = n.id and a.status not in ('SUCCEEDED', 'EXHAUSTED', 'PERMANENTLY_FAILED'));
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function complete_notifications(uuid[], timestamptz)`.execute(db);
}
