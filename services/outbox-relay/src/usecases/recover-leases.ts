import type { BackoffScale } from '@hub/domain';
import type { Db } from '@hub/db';
import { lockExpiredLeases, recordOutcome } from '@hub/dispatching';
import type { Topics } from '@hub/messaging';

/**
 * An attempt still DISPATCHING after its lease belongs to a dispatcher that died mid-call. It
 * counts as a failed dispatch (transient): back to PENDING with retry_count + 1 and the usual
 * backoff, or EXHAUSTED if that was its last dispatch. Counting it bounds a message that kills
 * its worker every time (ADR 0008); the retry itself is re-driven like any other.
 */
export async function recoverExpiredLeases(
  deps: { db: Db; topics: Topics; clock: () => Date; backoff: BackoffScale },
  limit: number,
): Promise<number> {
  const now = deps.clock();
  return deps.db.transaction().execute(async (tx) => {
    const expired = await lockExpiredLeases(tx, now, limit);
    for (const attempt of expired) {
      await recordOutcome(tx, { topics: deps.topics, now, backoff: deps.backoff }, attempt, {
        kind: 'failed',
        errorClass: 'transient',
        detail: 'dispatch lease expired (dispatcher lost mid-dispatch)',
      });
    }
    return expired.length;
  });
}
