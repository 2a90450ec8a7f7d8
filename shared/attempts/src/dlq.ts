import type { AttemptStatus } from '@hub/domain';
import { insertOutboxRows, type Tx } from '@hub/db';
import type { Topics } from '@hub/messaging';
import { completeNotifications, reopenNotification } from './complete.ts';
import { deliveryRequestMessage } from './events.ts';
import { endsIn, startsFrom } from './guard.ts';

export type DlqOperationResult =
  | { ok: true; attemptId: string; notificationId: string; channel: string; topic: string }
  /** Refused: the attempt is not EXHAUSTED (`status`), or does not exist (null). */
  | { ok: false; status: AttemptStatus | null };

type DlqContext = { topics: Topics; now: Date };

/**
 * EXHAUSTED → PENDING with retry_count 0 (an operator's replay, single or bulk), with a new
 * `delivery.requested` in the same transaction. Conditional, so a concurrent replay, discard or
 * dispatch cannot be overwritten. failure_reason is kept: it is the last failure, and the next
 * dispatch outcome replaces it. A COMPLETED notification is reopened, because one of its
 * attempts is no longer final; its dispatcher completes it again.
 */
export async function replayExhaustedAttempt(tx: Tx, ctx: DlqContext, attemptId: string): Promise<DlqOperationResult> {
  const attempt = await tx
    .updateTable('delivery_attempts')
    .set({ status: endsIn('replay'), retry_count: 0, next_attempt_at: null, lease_expires_at: null, completed_at: null, requested_at: ctx.now, updated_at: ctx.now })
    .where('id', '=', attemptId)
    .where(startsFrom('replay'))
    .returning(['id', 'notification_id', 'channel', 'priority'])
    .executeTakeFirst();
  if (!attempt) return refused(tx, attemptId);
  const notification = await reopenNotification(tx, attempt.notification_id, ctx.now);
  const message = deliveryRequestMessage(
    ctx.topics,
    { attemptId: attempt.id, notificationId: attempt.notification_id, recipientId: notification.recipient_id, channel: attempt.channel, priority: attempt.priority, retryCount: 0 },
    ctx.now,
  );
  await insertOutboxRows(tx, [message]);
  return { ok: true, attemptId: attempt.id, notificationId: attempt.notification_id, channel: attempt.channel, topic: message.topic };
}

/**
 * EXHAUSTED → PERMANENTLY_FAILED (an operator's discard, single or bulk), conditional like a
 * replay. failure_reason is kept (why it failed); the operator's reason goes to the audit trail.
 * The notification is completed by the one completion rule if that was its last open attempt.
 */
export async function discardExhaustedAttempt(tx: Tx, ctx: DlqContext, attemptId: string): Promise<DlqOperationResult> {
  const attempt = await tx
    .updateTable('delivery_attempts')
    .set({ status: endsIn('discard'), completed_at: ctx.now, updated_at: ctx.now, next_attempt_at: null, lease_expires_at: null })
    .where('id', '=', attemptId)
    .where(startsFrom('discard'))
    .returning(['id', 'notification_id', 'channel', 'priority'])
    .executeTakeFirst();
  if (!attempt) return refused(tx, attemptId);
  await completeNotifications(tx, [attempt.notification_id], ctx.now);
  return {
    ok: true,
    attemptId: attempt.id,
    notificationId: attempt.notification_id,
    channel: attempt.channel,
    topic: ctx.topics.delivery(attempt.channel, attempt.priority),
  };
}

async function refused(tx: Tx, attemptId: string): Promise<DlqOperationResult> {
  const row = await tx.selectFrom('delivery_attempts').select('status').where('id', '=', attemptId).executeTakeFirst();
  return { ok: false, status: row?.status ?? null };
}
