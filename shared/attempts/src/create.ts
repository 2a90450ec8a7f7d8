import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
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
  attempts: NewDeliveryAttempt[];
  outbox: OutboxMessage[];
  audit: { action: string; details: Record<string, unknown> };
}

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
 * Creates notifications with their attempts, events and audit rows, in the caller's postgres.js
 * transaction, and returns the idempotency keys this write took. A key Postgres already holds is
 * not taken (and its notification must not be kept: the caller rolls back and sorts out who
 * lost). postgres.js starts queries in the order their promises are subscribed to, on the
 * transaction's one connection: Promise.all over them pipelines the whole write set in one round
 * trip, and a ROLLBACK is only sent after all of them. (Kysely queries under Promise.all do not
 * keep their order and may run after the ROLLBACK, outside the transaction, so the queries are
 * built with kysely and run by postgres.js, as kysely-postgres-js itself runs them.) The
 * idempotency rows come first: a concurrent holder of a key makes this wait for its commit and
 * then conflict.
 */
export async function insertNotifications(tx: postgres.TransactionSql, writes: NotificationWrite[]): Promise<Set<string>> {
  const run = <R extends object>({ sql, parameters }: CompiledQuery) =>
    tx.unsafe<R[]>(sql, parameters as postgres.ParameterOrJSON<never>[], { prepare: true });
  // Columns a row leaves out get their defaults (kysely writes DEFAULT for them).
  const attempts = writes.flatMap((w) => w.attempts);
  // A row without its own time is due when its notification was created.
  const outbox = writes.flatMap(({ outbox, notification }) =>
    outbox.map((m) => ({ ...m, availableAt: m.availableAt ?? (notification.created_at === undefined ? undefined : new Date(notification.created_at)) })),
  );
  const [keys] = await Promise.all([
    run<{ key: string }>(
      compiler
        .insertInto('idempotency_keys')
        .values(writes.map((w) => ({ key: w.idempotencyKey, notification_id: w.notification.id, created_at: w.notification.created_at })))
        .onConflict((oc) => oc.column('key').doNothing())
        .returning('key')
        .compile(),
    ),
    run(compiler.insertInto('notifications').values(writes.map((w) => w.notification)).compile()),
    ...(attempts.length > 0 ? [run(compiler.insertInto('delivery_attempts').values(attempts).compile())] : []),
    ...(outbox.length > 0 ? [run(outboxInsert(outbox).compile(compiler))] : []),
    run(
      auditInsert(writes.map((w) => ({ actor: 'api', action: w.audit.action, targetType: 'notification', targetId: w.notification.id, details: w.audit.details }))).compile(compiler),
    ),
  ]);
  return new Set(keys.map((k) => k.key));
}
