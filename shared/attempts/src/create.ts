import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from 'kysely';
import type postgres from 'postgres';
import { INITIAL_ATTEMPT_STATUS, PRIORITY_KINDS, smsSegments, type Channel, type Kind, type SuppressionReason } from '@hub/domain';
import { auditInsert, newId, outboxInsert, type AlimtalkButton, type Database, type NewDeliveryAttempt, type NewNotification, type OutboxMessage } from '@hub/db';
import type { Topics } from '@hub/messaging';
import { deliveryRequestMessage, fannedOutMessage } from './events.ts';

/** Everything one accepted (or suppressed) notification writes, as rows. */
export interface NotificationWrite {
  idempotencyKey: string;
  notification: NewNotification & { id: string };
  attempts: NewAttemptRow[];
  outbox: OutboxMessage[];
  audit: { action: string; details: Record<string, unknown> };
}

/**
 * The columns a new attempt is written with (those newAttemptRow sets); the others (retries,
 * lease, vendor results) start at their defaults.
 */
export type NewAttemptRow = Pick<
  NewDeliveryAttempt,
  | 'id'
  | 'notification_id'
  | 'channel'
  | 'address'
  | 'device_token_id'
  | 'status'
  | 'priority'
  | 'rendered_title'
  | 'rendered_body'
  | 'rendered_html_body'
  | 'provider_template_code'
  | 'buttons'
  | 'sms_segments'
  | 'fallback_of'
  | 'requested_at'
  | 'created_at'
  | 'updated_at'
>;

/** A notification as ingest decided it: its status, and one delivery per resolved channel address. */
export interface DecidedNotification {
  id: string;
  idempotencyKey: string;
  /** The authenticated caller that sent it (its token's `sub`); absent when authentication is off. */
  createdBy?: string | undefined;
  /** What the caller asked for, as POST /notifications takes it. */
  request: { recipientId: string; kind: Kind; title?: string | undefined; body?: string | undefined; templateKey?: string | undefined; payload: Record<string, string> };
  status: 'FANNED_OUT' | 'SCHEDULED' | 'SUPPRESSED';
  suppressionReason: SuppressionReason | null;
  scheduledFor: Date | null;
  now: Date;
  deliveries: {
    channel: Channel;
    address: string;
    deviceTokenId: string | null;
    title: string;
    body: string;
    htmlBody?: string | null;
    /** KAKAO_ALIMTALK from a template: its provider code and rendered buttons. */
    providerTemplateCode?: string | null;
    buttons?: AlimtalkButton[] | null;
  }[];
}

/**
 * The rows of a new notification: the notification, one PENDING attempt per delivery (SMS
 * segments counted by the domain), a `delivery.requested` per attempt (due at the end of the
 * quiet hours when deferred), the `notification.fanned-out` event and the audit row.
 */
export function notificationWrite(topics: Topics, input: DecidedNotification): NotificationWrite {
  const { now, status, request } = input;
  const priority = PRIORITY_KINDS.has(request.kind);
  const attempts = input.deliveries.map((d) =>
    newAttemptRow({
      notificationId: input.id,
      channel: d.channel,
      address: d.address,
      deviceTokenId: d.deviceTokenId,
      priority,
      title: d.title,
      body: d.body,
      htmlBody: d.htmlBody ?? null,
      providerTemplateCode: d.providerTemplateCode ?? null,
      buttons: d.buttons ?? null,
      now,
      requestedAt: input.scheduledFor ?? now,
    }),
  );
  const outbox: OutboxMessage[] =
    attempts.length === 0
      ? []
      : [
          ...attempts.map((a) =>
            deliveryRequestMessage(
              topics,
              { attemptId: a.id, notificationId: input.id, recipientId: request.recipientId, channel: a.channel, priority, retryCount: 0 },
              now,
              input.scheduledFor ?? now,
            ),
          ),
          fannedOutMessage(
            topics,
            {
              notificationId: input.id,
              recipientId: request.recipientId,
              kind: request.kind,
              status: status === 'SCHEDULED' ? 'SCHEDULED' : 'FANNED_OUT',
              attempts: attempts.map((a) => ({ attemptId: a.id, channel: a.channel })),
            },
            now,
          ),
        ];
  return {
    idempotencyKey: input.idempotencyKey,
    notification: {
      id: input.id,
      recipient_id: request.recipientId,
      kind: request.kind,
      title: request.title ?? null,
      body: request.body ?? null,
      template_key: request.templateKey ?? null,
      payload: request.payload,
      status,
      suppression_reason: input.suppressionReason,
      scheduled_for: input.scheduledFor,
      idempotency_key: input.idempotencyKey,
      created_by: input.createdBy ?? null,
      created_at: now,
      updated_at: now,
    },
    attempts,
    outbox,
    audit: {
      action: `NOTIFICATION_${status === 'FANNED_OUT' ? 'ACCEPTED' : status}`,
      details: {
        kind: request.kind,
        recipientId: request.recipientId,
        channels: attempts.map((a) => a.channel),
        ...(input.suppressionReason ? { suppressionReason: input.suppressionReason } : {}),
        ...(input.scheduledFor ? { scheduledFor: input.scheduledFor.toISOString() } : {}),
      },
    },
  };
}

/** A new attempt's row, in the state every attempt starts in. */
export function newAttemptRow(input: {
  notificationId: string;
  channel: Channel;
  address: string;
  deviceTokenId: string | null;
  priority: boolean;
  title: string;
  body: string;
  /** EMAIL from a template with an HTML body: that body, rendered. */
  htmlBody?: string | null;
  /** KAKAO_ALIMTALK from a template: its provider template code and buttons, rendered. */
  providerTemplateCode?: string | null;
  buttons?: AlimtalkButton[] | null;
  now: Date;
  /** When its first delivery request is due (the end of the quiet hours for a deferred one); default now. */
  requestedAt?: Date;
  fallbackOf?: string;
}): NewDeliveryAttempt & { id: string; channel: Channel } {
  return {
    id: newId(),
    notification_id: input.notificationId,
    channel: input.channel,
    address: input.address,
    device_token_id: input.deviceTokenId,
    status: INITIAL_ATTEMPT_STATUS,
    priority: input.priority,
    rendered_title: input.title,
    rendered_body: input.body,
    rendered_html_body: input.htmlBody ?? null,
    provider_template_code: input.providerTemplateCode ?? null,
    buttons: input.buttons ?? null,
    sms_segments: input.channel === 'SMS' ? smsSegments(input.body) : null,
    fallback_of: input.fallbackOf ?? null,
    requested_at: input.requestedAt ?? input.now,
    created_at: input.now,
    updated_at: input.now,
  };
}

/** Builds and compiles queries only: it has no connection (kysely's "splitting build and execution"). */
const compiler = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/**
 * Creates notifications with their attempts, events and audit rows, all or nothing: one
 * statement, its own transaction when run on the pool (no BEGIN/COMMIT round trips). A key
 * Postgres already holds fails the whole statement with a unique violation of
 * `idempotency_keys_pkey`; a concurrent holder of a key makes it wait for that holder's commit
 * and then fail. The idempotency row stays the guarantee: no notification row without it.
 *
 * One message and one round trip per batch, and the same text (so the same prepared statement
 * and plan) whatever the batch size, where one kysely insert per table with a VALUES row per
 * row was a new statement for each size, parsed and described again. The inserts are
 * data-modifying CTEs of the statement, so the foreign keys (attempts → notifications) are
 * checked at its end, when every row is in.
 */
export async function insertNotifications(db: postgres.Sql | postgres.TransactionSql, writes: NotificationWrite[]): Promise<void> {
  const attempts = writes.flatMap((w) => w.attempts);
  // A row without its own time is due when its notification was created.
  const outbox = writes.flatMap(({ outbox, notification }) =>
    outbox.map((m) => ({ ...m, availableAt: m.availableAt ?? (notification.created_at === undefined ? undefined : new Date(notification.created_at)) })),
  );
  // Each table's rows go as one JSON array (Dates become ISO text, nested JSON stays JSON),
  // read back by json_to_recordset with the column types. A column a row leaves out comes back
  // null; those that have defaults are coalesced to them.
  const keys = writes.map((w) => ({ key: w.idempotencyKey, notification_id: w.notification.id, created_at: w.notification.created_at }));
  const { sql: text, parameters } = sql`
    with keys as (
      insert into idempotency_keys (key, notification_id, created_at)
      select k.key, k.notification_id, coalesce(k.created_at, now())
      from json_to_recordset(${JSON.stringify(keys)}::text::json) as k(key text, notification_id uuid, created_at timestamptz)
    ), notification_rows as (
      insert into notifications (id, recipient_id, kind, title, body, template_key, payload, status, suppression_reason, scheduled_for, idempotency_key, created_by, created_at, updated_at)
      select n.id, n.recipient_id, n.kind, n.title, n.body, n.template_key, coalesce(n.payload, '{}'::jsonb), n.status, n.suppression_reason,
             n.scheduled_for, n.idempotency_key, n.created_by, coalesce(n.created_at, now()), coalesce(n.updated_at, now())
      from json_to_recordset(${JSON.stringify(writes.map((w) => w.notification))}::text::json)
           as n(id uuid, recipient_id text, kind text, title text, body text, template_key text, payload jsonb, status text, suppression_reason text,
                scheduled_for timestamptz, idempotency_key text, created_by text, created_at timestamptz, updated_at timestamptz)
    ), attempt_rows as (
      insert into delivery_attempts (id, notification_id, channel, address, device_token_id, status, priority, rendered_title, rendered_body, rendered_html_body,
                                     provider_template_code, buttons, sms_segments, fallback_of, requested_at, created_at, updated_at)
      select a.id, a.notification_id, a.channel, a.address, a.device_token_id, a.status, coalesce(a.priority, false), a.rendered_title, a.rendered_body,
             a.rendered_html_body, a.provider_template_code, a.buttons, a.sms_segments, a.fallback_of, a.requested_at, coalesce(a.created_at, now()),
             coalesce(a.updated_at, now())
      from json_to_recordset(${JSON.stringify(attempts)}::text::json)
           as a(id uuid, notification_id uuid, channel text, address text, device_token_id uuid, status text, priority boolean, rendered_title text,
                rendered_body text, rendered_html_body text, provider_template_code text, buttons jsonb, sms_segments int, fallback_of uuid,
                requested_at timestamptz, created_at timestamptz, updated_at timestamptz)
    ), outbox_rows as (
      ${outboxInsert(outbox)}
    ), audit_rows as (
      ${auditInsert(writes.map((w) => ({ actor: 'api', action: w.audit.action, targetType: 'notification', targetId: w.notification.id, details: w.audit.details })))}
    )
    select`.compile(compiler);
  await db.unsafe(text, parameters as postgres.ParameterOrJSON<never>[], { prepare: true });
}
