import { sql } from 'kysely';
import { recordAudit, type Tx } from '@hub/db';
import type { AdminDeps } from '../deps.ts';
import { findAttemptStatus } from '../repositories/attempts.ts';
import { refusal, type DlqOperationResult } from './replay-attempt.ts';

/**
 * The transactional core of a discard (single and bulk): EXHAUSTED → PERMANENTLY_FAILED by a
 * conditional update. failure_reason is kept (why it failed); the operator's reason goes to the
 * audit trail. If that leaves every attempt of the notification final, it becomes COMPLETED.
 */
export async function discardExhaustedAttempt(
  tx: Tx,
  deps: Pick<AdminDeps, 'topics' | 'clock'>,
  attemptId: string,
): Promise<DlqOperationResult> {
  const now = deps.clock();
  const attempt = await tx
    .updateTable('delivery_attempts')
    .set({ status: 'PERMANENTLY_FAILED', completed_at: now, updated_at: now, next_attempt_at: null, lease_expires_at: null })
    .where('id', '=', attemptId)
    .where('status', '=', 'EXHAUSTED')
    .returning(['id', 'notification_id', 'channel', 'priority'])
    .executeTakeFirst();
  if (!attempt) return { ok: false, status: (await findAttemptStatus(tx, attemptId))?.status ?? null };

  // Lock first, then look at the siblings in a new statement: under READ COMMITTED that
  // statement sees whatever a concurrent replay of a sibling committed before we got the lock.
  await tx.selectFrom('notifications').select('id').where('id', '=', attempt.notification_id).forUpdate().execute();
  await tx
    .updateTable('notifications')
    .set({ status: 'COMPLETED', completed_at: now, updated_at: now })
    .where('id', '=', attempt.notification_id)
    .where('status', '=', 'FANNED_OUT')
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('delivery_attempts')
            .select(sql`1`.as('one'))
            .where('notification_id', '=', attempt.notification_id)
            .where('status', 'in', ['PENDING', 'DISPATCHING']),
        ),
      ),
    )
    .execute();
  return {
    ok: true,
    attemptId: attempt.id,
    notificationId: attempt.notification_id,
    channel: attempt.channel,
    topic: deps.topics.delivery(attempt.channel, attempt.priority),
  };
}

/** POST /dlq/{id}/discard. */
export async function discardAttempt(
  deps: Pick<AdminDeps, 'db' | 'topics' | 'clock' | 'logger' | 'metrics'>,
  input: { attemptId: string; actor: string; reason?: string | undefined },
) {
  const result = await deps.db.transaction().execute(async (tx) => {
    const outcome = await discardExhaustedAttempt(tx, deps, input.attemptId);
    if (outcome.ok) {
      await recordAudit(tx, {
        actor: input.actor,
        action: 'DLQ_DISCARD',
        targetType: 'delivery_attempt',
        targetId: input.attemptId,
        details: {
          notificationId: outcome.notificationId,
          channel: outcome.channel,
          reason: input.reason ?? null,
        },
      });
    }
    return outcome;
  });
  const log = deps.logger.child({ component: 'dlq', action: 'DLQ_DISCARD', actor: input.actor, attemptId: input.attemptId });
  if (!result.ok) {
    deps.metrics.actions.inc({ action: 'DLQ_DISCARD', outcome: 'refused' });
    log.warn({ attemptStatus: result.status }, 'dlq discard refused');
    throw refusal(input.attemptId, 'discard', result.status);
  }
  deps.metrics.actions.inc({ action: 'DLQ_DISCARD', outcome: 'done' });
  log.info({ notificationId: result.notificationId, reason: input.reason ?? null }, 'dlq attempt discarded');
  return { attemptId: input.attemptId, status: 'PERMANENTLY_FAILED' as const };
}
