import { discardExhaustedAttempt } from '@hub/attempts';
import { recordAudit } from '@hub/db';
import type { AdminDeps } from '../deps.ts';
import { refusal } from './replay-attempt.ts';

/** POST /dlq/{id}/discard: the discard (@hub/attempts) and its DLQ_DISCARD audit row, in one transaction. */
export async function discardAttempt(
  deps: Pick<AdminDeps, 'db' | 'topics' | 'clock' | 'logger' | 'metrics'>,
  input: { attemptId: string; actor: string; reason?: string | undefined },
) {
  const result = await deps.db.transaction().execute(async (tx) => {
    const outcome = await discardExhaustedAttempt(tx, { topics: deps.topics, now: deps.clock() }, input.attemptId);
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
