import type { Tx } from '@hub/db';
import { CLAIMED_COLUMNS, type ClaimedAttempt, type OutcomeContext } from './claimed.ts';
import { startsFrom } from './guard.ts';
import { recordFailure } from './record-failure.ts';

/**
 * Attempts still DISPATCHING past their lease belong to a dispatcher that died mid-call: each
 * counts as a failed dispatch (transient), back to PENDING with retry_count + 1 and the usual
 * backoff, or EXHAUSTED if that was its last dispatch. Counting it bounds a message that kills
 * its worker every time (ADR 0008); the retry itself is re-driven like any other. Returns how
 * many were recovered; SKIP LOCKED lets several relays share the work.
 */
export async function recoverExpiredLeases(tx: Tx, ctx: OutcomeContext, limit: number): Promise<number> {
  const expired: ClaimedAttempt[] = await tx
    .selectFrom('delivery_attempts as a')
    .innerJoin('notifications as n', 'n.id', 'a.notification_id')
    .select(CLAIMED_COLUMNS)
    .where(startsFrom('retry', 'a.status'))
    .where('a.lease_expires_at', '<', ctx.now)
    .$narrowType<{ lease_expires_at: Date }>()
    .orderBy('a.lease_expires_at')
    .limit(limit)
    .forUpdate('a')
    .skipLocked()
    .execute();
  for (const attempt of expired) {
    await recordFailure(tx, ctx, attempt, { errorClass: 'transient', detail: 'dispatch lease expired (dispatcher lost mid-dispatch)' });
  }
  return expired.length;
}
