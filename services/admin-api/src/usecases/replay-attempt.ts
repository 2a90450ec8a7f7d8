import { replayExhaustedAttempt } from '@hub/attempts';
import { recordAudit } from '@hub/db';
import type { AttemptStatus } from '@hub/domain';
import { conflict, notFound } from '@hub/http';
import type { AdminDeps } from '../deps.ts';

/** Turns a refused single-attempt operation into the HTTP answer. */
export function refusal(attemptId: string, operation: string, status: AttemptStatus | null) {
  if (status === null) return notFound('ATTEMPT_NOT_FOUND', `attempt ${attemptId} does not exist`);
  return conflict('ILLEGAL_DLQ_OPERATION', `cannot ${operation} attempt ${attemptId}: it is ${status}, not EXHAUSTED`, {
    attemptId,
    attemptStatus: status,
  });
}

/** POST /dlq/{id}/replay: the replay (@hub/attempts) and its DLQ_REPLAY audit row, in one transaction. */
export async function replayAttempt(
  deps: Pick<AdminDeps, 'db' | 'topics' | 'clock' | 'logger' | 'metrics'>,
  input: { attemptId: string; actor: string; reason?: string | undefined },
) {
  const result = await deps.db.transaction().execute(async (tx) => {
    const outcome = await replayExhaustedAttempt(tx, { topics: deps.topics, now: deps.clock() }, input.attemptId);
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
