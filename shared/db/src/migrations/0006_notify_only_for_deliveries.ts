import { sql, type Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> and never import the app's table types.

// The outbox trigger sent NOTIFY for every insert, including the vendor-result and alert events
// each dispatcher outcome writes. A transaction that notified takes a database-wide lock at
// commit and holds it through its WAL flush, so every outcome commit of the four dispatchers
// (and every ingest commit) queued behind the others' (`Lock:object` in pg_stat_activity under
// bench:delivery), and each one woke the relay for events nobody waits on. Only delivery
// requests need the relay at once; other rows go with the next publish round, which the next
// delivery row or the relay's poll (RELAY_POLL_INTERVAL_MS) starts. The topic test matches the
// topic registry's `notification.delivery.<channel>[.priority]`, with or without a namespace.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop trigger outbox_notify on outbox`.execute(db);
  await sql`
    create or replace function outbox_notify() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from new_rows where position('notification.delivery.' in topic) > 0) then
        perform pg_notify('outbox', '');
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger outbox_notify after insert on outbox
    referencing new table as new_rows
    for each statement execute function outbox_notify()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger outbox_notify on outbox`.execute(db);
  await sql`
    create or replace function outbox_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('outbox', '');
      return null;
    end $$`.execute(db);
  await sql`
    create trigger outbox_notify after insert on outbox
    for each statement execute function outbox_notify()`.execute(db);
}
