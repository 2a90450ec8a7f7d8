import { recoverExpiredLeases as recover } from '@hub/attempts';
import type { BackoffScale } from '@hub/domain';
import type { Db } from '@hub/db';
import type { Topics } from '@hub/messaging';

/** One transaction of lease recovery (see @hub/attempts recoverExpiredLeases); returns how many. */
export async function recoverExpiredLeases(
  deps: { db: Db; topics: Topics; clock: () => Date; backoff: BackoffScale },
  limit: number,
): Promise<number> {
  const ctx = { topics: deps.topics, now: deps.clock(), backoff: deps.backoff };
  return deps.db.transaction().execute((tx) => recover(tx, ctx, limit));
}
