import { sweepLostDeliveries as sweep } from '@hub/attempts';
import type { Db } from '@hub/db';
import type { Topics } from '@hub/messaging';

/** One transaction of the lost-record sweep (see @hub/attempts sweepLostDeliveries); returns how many. */
export async function sweepLostDeliveries(deps: { db: Db; topics: Topics; clock: () => Date }, options: { olderThanMs: number; limit: number }): Promise<number> {
  const ctx = { topics: deps.topics, now: deps.clock() };
  return deps.db.transaction().execute((tx) => sweep(tx, ctx, options));
}
