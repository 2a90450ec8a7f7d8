import { redriveDueRetries as redrive } from '@hub/attempts';
import type { Db } from '@hub/db';
import type { Topics } from '@hub/messaging';

/** One transaction of due-retry re-drive (see @hub/attempts redriveDueRetries); returns how many. */
export async function redriveDueRetries(deps: { db: Db; topics: Topics; clock: () => Date }, limit: number): Promise<number> {
  const ctx = { topics: deps.topics, now: deps.clock() };
  return deps.db.transaction().execute((tx) => redrive(tx, ctx, limit));
}

