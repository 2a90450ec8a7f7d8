import { sql, type Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> and never import the app's table types.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('recipients')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // Directory entry: [{type, address}] for EMAIL, SMS, KAKAO_ALIMTALK (PUSH comes from devices).
    .addColumn('channels', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('locale', 'text', (c) => c.notNull().defaultTo('ko-kr'))
    .addColumn('timezone', 'text', (c) => c.notNull().defaultTo('Asia/Seoul'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('recipient_preferences')
    .addColumn('recipient_id', 'text', (c) => c.primaryKey().references('recipients.id').onDelete('cascade'))
    .addColumn('quiet_hours_enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('quiet_start', 'text', (c) => c.notNull().defaultTo('22:00'))
    .addColumn('quiet_end', 'text', (c) => c.notNull().defaultTo('08:00'))
    // Null: use the recipient's own timezone.
    .addColumn('timezone', 'text')
    // {KIND: {allowed: boolean, preferredChannels: CHANNEL[]}}; absent kinds use the defaults.
    .addColumn('kinds', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('quiet_hours_differ', sql`quiet_start <> quiet_end`)
    .execute();

  await db.schema
    .createTable('device_tokens')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('recipient_id', 'text', (c) => c.notNull())
    .addColumn('platform', 'text', (c) => c.notNull().check(sql`platform in ('ANDROID', 'IOS', 'WEB')`))
    .addColumn('token', 'text', (c) => c.notNull().unique())
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('disabled_reason', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('device_tokens_recipient_active')
    .on('device_tokens')
    .columns(['recipient_id'])
    .where(sql.ref('active'), '=', true)
    .execute();

  await db.schema
    .createTable('templates')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('locale', 'text', (c) => c.notNull())
    .addColumn('channel_type', 'text', (c) => c.notNull())
    .addColumn('title_template', 'text', (c) => c.notNull())
    .addColumn('body_template', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('templates_key_locale_channel', ['key', 'locale', 'channel_type'])
    .execute();

  await db.schema
    .createTable('notifications')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('recipient_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('MARKETING', 'TRANSACTIONAL', 'SECURITY', 'SERVICE')`),
    )
    .addColumn('title', 'text')
    .addColumn('body', 'text')
    .addColumn('template_key', 'text')
    .addColumn('payload', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('ACCEPTED', 'FANNED_OUT', 'SCHEDULED', 'SUPPRESSED', 'COMPLETED')`),
    )
    .addColumn('suppression_reason', 'text')
    .addColumn('scheduled_for', 'timestamptz')
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('completed_at', 'timestamptz')
    .execute();
  // History is "newest first per recipient" by time-ordered id (UUIDv7).
  await db.schema.createIndex('notifications_recipient_id').on('notifications').columns(['recipient_id', 'id']).execute();

  // The idempotency guarantee (Redis SET NX is only the fast path). Rows older than the
  // window (24 h) are deleted by the relay's housekeeping, which frees the key.
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('notification_id', 'uuid', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('idempotency_keys_created_at').on('idempotency_keys').column('created_at').execute();

  await db.schema
    .createTable('delivery_attempts')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('notification_id', 'uuid', (c) => c.notNull().references('notifications.id'))
    .addColumn('channel', 'text', (c) =>
      c.notNull().check(sql`channel in ('PUSH', 'EMAIL', 'SMS', 'KAKAO_ALIMTALK')`),
    )
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('device_token_id', 'uuid')
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .check(sql`status in ('PENDING', 'DISPATCHING', 'SUCCEEDED', 'EXHAUSTED', 'PERMANENTLY_FAILED')`),
    )
    // SECURITY and TRANSACTIONAL go to the channel's priority topic.
    .addColumn('priority', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('retry_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_retry', 'integer', (c) => c.notNull().defaultTo(5))
    // Due time of the next dispatch while PENDING after a failure (re-driven by the relay).
    .addColumn('next_attempt_at', 'timestamptz')
    // A DISPATCHING attempt whose lease passed belongs to a crashed worker and is recovered.
    .addColumn('lease_expires_at', 'timestamptz')
    .addColumn('rendered_title', 'text', (c) => c.notNull())
    .addColumn('rendered_body', 'text', (c) => c.notNull())
    .addColumn('sms_segments', 'integer')
    .addColumn('vendor_message_id', 'text')
    .addColumn('failure_reason', 'text')
    // Set on an SMS attempt created as the substitute send of a failed KAKAO_ALIMTALK attempt.
    .addColumn('fallback_of', 'uuid')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('dispatched_at', 'timestamptz')
    .addColumn('completed_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('delivery_attempts_notification')
    .on('delivery_attempts')
    .column('notification_id')
    .execute();
  await db.schema
    .createIndex('delivery_attempts_due_retry')
    .on('delivery_attempts')
    .column('next_attempt_at')
    .where(sql.ref('status'), '=', 'PENDING')
    .execute();
  await db.schema
    .createIndex('delivery_attempts_lease')
    .on('delivery_attempts')
    .column('lease_expires_at')
    .where(sql.ref('status'), '=', 'DISPATCHING')
    .execute();
  // The DLQ is "attempts in EXHAUSTED", listed by id and searched by time.
  await db.schema
    .createIndex('delivery_attempts_dlq')
    .on('delivery_attempts')
    .columns(['id'])
    .where(sql.ref('status'), '=', 'EXHAUSTED')
    .execute();
  await db.schema
    .createIndex('delivery_attempts_dlq_time')
    .on('delivery_attempts')
    .columns(['updated_at', 'id'])
    .where(sql.ref('status'), '=', 'EXHAUSTED')
    .execute();

  // Transactional outbox: written in the same transaction as the state change it announces.
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('message_key', 'text')
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('headers', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('available_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('published_at', 'timestamptz')
    .addColumn('publish_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .execute();
  await db.schema
    .createIndex('outbox_pending')
    .on('outbox')
    .columns(['available_at', 'id'])
    .where(sql.ref('published_at'), 'is', null)
    .execute();
  await db.schema
    .createIndex('outbox_published')
    .on('outbox')
    .column('published_at')
    .where(sql.ref('published_at'), 'is not', null)
    .execute();
  // Wake the relay as soon as a row commits (it also polls, in case a notification is missed).
  await sql`
    create function outbox_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('outbox', '');
      return null;
    end $$`.execute(db);
  await sql`
    create trigger outbox_notify after insert on outbox
    for each statement execute function outbox_notify()`.execute(db);

  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target_type', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('audit_events_target').on('audit_events').columns(['target_type', 'target_id']).execute();
  await db.schema.createIndex('audit_events_created_at').on('audit_events').column('created_at').execute();

  // Bulk DLQ jobs are persisted so they survive restarts and are visible from every replica;
  // the lease makes sure only one replica works a job at a time.
  await db.schema
    .createTable('bulk_jobs')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('operation', 'text', (c) => c.notNull().check(sql`operation in ('REPLAY', 'DISCARD')`))
    .addColumn('filters', 'jsonb', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state in ('RUNNING', 'SUCCEEDED', 'PARTIAL_FAILURE', 'FAILED')`),
    )
    .addColumn('total_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('processed_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('success_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('failure_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('first_error', 'text')
    // Keyset position: the last attempt id this job has dealt with.
    .addColumn('cursor', 'uuid')
    // Upper bound fixed at start, so attempts exhausted later are not swept into the job.
    .addColumn('snapshot_max_id', 'uuid')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('bulk_jobs_running')
    .on('bulk_jobs')
    .column('lease_expires_at')
    .where(sql.ref('state'), '=', 'RUNNING')
    .execute();
  // Which attempts a job has already handled: makes a resumed job skip them (never twice).
  await db.schema
    .createTable('bulk_job_items')
    .addColumn('job_id', 'uuid', (c) => c.notNull().references('bulk_jobs.id').onDelete('cascade'))
    .addColumn('attempt_id', 'uuid', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('SUCCEEDED', 'FAILED')`))
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('bulk_job_items_pk', ['job_id', 'attempt_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'bulk_job_items',
    'bulk_jobs',
    'audit_events',
    'outbox',
    'delivery_attempts',
    'idempotency_keys',
    'notifications',
    'templates',
    'device_tokens',
    'recipient_preferences',
    'recipients',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await sql`drop function if exists outbox_notify() cascade`.execute(db);
}
