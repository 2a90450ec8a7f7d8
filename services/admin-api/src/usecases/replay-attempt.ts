import { insertOutboxRows, recordAudit, type Tx } from '@hub/db';
import type { AttemptStatus } from '@hub/domain';
import { conflict, notFound } from '@hub/http';
import { deliveryRequestMessage } from '@hub/messaging';
import type { AdminDeps } from '../deps.ts';
import { findAttemptStatus } from '../repositories/attempts.ts';

export type DlqOperationResult =
  | { ok: true; attemptId: string; notificationId: string; channel: string; topic: string }
  | { ok: false; status: AttemptStatus | null };

/**
 * The transactional core of a replay (single and bulk): EXHAUSTED → PENDING with retry_count 0
 * by a conditional update, so a concurrent replay/discard/dispatch cannot be overwritten, plus a
 * new `delivery.requested` outbox row in the same transaction. failure_reason is kept: it is the
 * last failure, and the next dispatch outcome replaces it. A COMPLETED notification is reopened
 * (FANNED_OUT) because one of its attempts is no longer final; the dispatcher completes it again.
 */
export async function replayExhaustedAttempt(
  tx: Tx,
  deps: Pick<AdminDeps, 'topics' | 'clock'>,
  attemptId: string,
): Promise<DlqOperationResult> {
  const now = deps.clock();
  const attempt = await tx
    .updateTable('delivery_attempts')
    .set({
      status: 'PENDING',
      retry_count: 0,
      next_attempt_at: null,
      lease_expires_at: null,
      completed_at: null,
      updated_at: now,
    })
    .where('id', '=', attemptId)
    .where('status', '=', 'EXHAUSTED')
    .returning(['id', 'notification_id', 'channel', 'priority'])
    .executeTakeFirst();
  if (!attempt) return { ok: false, status: (await findAttemptStatus(tx, attemptId))?.status ?? null };

  // Always takes the notification's row lock, which orders this against a concurrent discard
  // of a sibling attempt deciding whether the notification is complete.
  const notification = await tx
    .updateTable('notifications')
    .set((eb) => ({
      status: eb.case().when('status', '=', 'COMPLETED').then('FANNED_OUT' as const).else(eb.ref('status')).end(),
      completed_at: eb.case().when('status', '=', 'COMPLETED').then(null).else(eb.ref('completed_at')).end(),
      updated_at: eb.case().when('status', '=', 'COMPLETED').then(now).else(eb.ref('updated_at')).end(),
    }))
    .where('id', '=', attempt.notification_id)
    .returning('recipient_id')
    .executeTakeFirstOrThrow();

  const message = deliveryRequestMessage(
    deps.topics,
    {
      attemptId: attempt.id,
      notificationId: attempt.notification_id,
      recipientId: notification.recipient_id,
      channel: attempt.channel,
      priority: attempt.priority,
      retryCount: 0,
    },
    now,
  );
  await insertOutboxRows(tx, [message]);
  return { ok: true, attemptId: attempt.id, notificationId: attempt.notification_id, channel: attempt.channel, topic: message.topic };
}

/** Turns a refused single-attempt operation into the HTTP answer. */
export function refusal(attemptId: string, operation: string, status: AttemptStatus | null) {
  if (status === null) return notFound('ATTEMPT_NOT_FOUND', `attempt ${attemptId} does not exist`);
  return conflict('ILLEGAL_DLQ_OPERATION', `cannot ${operation} attempt ${attemptId}: it is ${status}, not EXHAUSTED`, {
    attemptId,
    attemptStatus: status,
  });
}

/** POST /dlq/{id}/replay. */
export async function replayAttempt(
  deps: Pick<AdminDeps, 'db' | 'topics' | 'clock' | 'logger' | 'metrics'>,
  input: { attemptId: string; actor: string; reason?: string | undefined },
) {
  const result = await deps.db.transaction().execute(async (tx) => {
    const outcome = await replayExhaustedAttempt(tx, deps, input.attemptId);
    if (outcome.ok) {
      await recordAudit(tx, {
        actor: input.actor,
        action: 'DLQ_REPLAY',
        targetType: 'delivery_attempt',
        targetId: input.attemptId,
        details: {
          notificationId: outcome.notificationId,
          channel: outcome.channel,
          topic: outcome.topic,
          ...(input.reason ? { reason: input.reason } : {}),
        },
      });
    }
    return outcome;
  });
  const log = deps.logger.child({ component: 'dlq', action: 'DLQ_REPLAY', actor: input.actor, attemptId: input.attemptId });
  if (!result.ok) {
    deps.metrics.actions.inc({ action: 'DLQ_REPLAY', outcome: 'refused' });
    log.warn({ attemptStatus: result.status }, 'dlq replay refused');
    throw refusal(input.attemptId, 'replay', result.status);
  }
  deps.metrics.actions.inc({ action: 'DLQ_REPLAY', outcome: 'done' });
  log.info({ notificationId: result.notificationId, topic: result.topic }, 'dlq attempt replayed');
  return { attemptId: input.attemptId, status: 'PENDING' as const, retryCount: 0, topic: result.topic };
}
