import { sql, type Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> and never import the app's table types.

// Issue 15: vendor receipts in the vendors' own formats (Twilio status callbacks, SES events
// through SNS) record what became of a message after the vendor accepted it. SUCCEEDED keeps its
// meaning ("the vendor accepted it"); delivery_status is the vendor's later word on it, null until
// a receipt says something. A hard bounce or a complaint puts the address on suppressed_addresses,
// which ingest reads once per send through the unique (channel, address) index.
//
// SES names the message by its own id when the attempt tag is missing (a message sent before the
// tag was configured): the partial index on vendor_message_id answers that lookup without a scan.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table delivery_attempts
      add column delivery_status text
        check (delivery_status in ('DELIVERED', 'UNDELIVERED', 'BOUNCED', 'COMPLAINED')),
      add column delivery_status_at timestamptz,
      add column delivery_status_reason text`.execute(db);
  await sql`
    create index delivery_attempts_vendor_message on delivery_attempts (vendor_message_id)
    where vendor_message_id is not null`.execute(db);
  await sql`
    create table suppressed_addresses (
      id uuid primary key,
      channel text not null check (channel in ('PUSH', 'EMAIL', 'SMS', 'KAKAO_ALIMTALK')),
      address text not null,
      reason text not null check (reason in ('BOUNCED', 'COMPLAINED', 'MANUAL')),
      source text not null,
      attempt_id uuid references delivery_attempts (id) on delete set null,
      created_at timestamptz not null default now(),
      unique (channel, address)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table suppressed_addresses`.execute(db);
  await sql`drop index delivery_attempts_vendor_message`.execute(db);
  await sql`
    alter table delivery_attempts
      drop column delivery_status_reason,
      drop column delivery_status_at,
      drop column delivery_status`.execute(db);
}
