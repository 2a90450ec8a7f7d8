import type { AttemptStatus } from '@hub/domain';
import type { Tx } from '@hub/db';
import type { ClaimedAttempt, DispatchOutcome, OutcomeContext } from './claimed.ts';
import { recordFailure } from './record-failure.ts';
import { recordSuccesses, type SucceededDispatch } from './record-successes.ts';
import { releaseAttempts } from './release.ts';

/**
 * The outcomes of many dispatches in one transaction: successes (the common case) and dispatches
 * that never reached the vendor set-based, failures one by one; null where the attempt was no longer ours. Successes leave their
 * notifications to the caller, who completes them after the commit (completeNotifications):
 * the four channels' dispatchers finish a notification's attempts at about the same moment,
 * and locking it here would hold each outcome transaction open behind another's (ADR 0016).
 * Failures, rare, complete theirs here.
 */
export async function recordOutcomes(
  tx: Tx,
  ctx: OutcomeContext,
  items: { attempt: ClaimedAttempt; outcome: DispatchOutcome }[],
): Promise<(AttemptStatus | null)[]> {
  const results = new Array<AttemptStatus | null>(items.length).fill(null);
  const successes: SucceededDispatch[] = [];
  const indexes: number[] = [];
  for (const [index, { attempt, outcome }] of items.entries()) {
    if (outcome.kind === 'succeeded') {
      successes.push({ attempt, vendorMessageId: outcome.vendorMessageId });
      indexes.push(index);
    }
  }
  (await recordSuccesses(tx, ctx, successes)).forEach((status, i) => (results[indexes[i]!] = status));
  const unsent = items.flatMap(({ attempt, outcome }, index) => (outcome.kind === 'not_sent' ? [{ attempt, retryAt: outcome.retryAt, index }] : []));
  (await releaseAttempts(tx, ctx, unsent)).forEach((status, i) => (results[unsent[i]!.index] = status));
  for (const [index, { attempt, outcome }] of items.entries()) {
    if (outcome.kind === 'failed') results[index] = await recordFailure(tx, ctx, attempt, outcome);
  }
  return results;
}
