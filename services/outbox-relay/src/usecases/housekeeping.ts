import { sql } from 'kysely';
import type { Db } from '@hub/db';

/**
 * Deletes published outbox rows older than the retention and idempotency keys older than their
 * window (IDEMPOTENCY_TTL_SECONDS: after it the same key is a new request), in bounded chunks so
 * a large backlog never holds long locks.
 */
export async function housekeep(
  deps: { db: Db; clock: () => Date },
  options: { retentionMs: number; idempotencyTtlMs: number; chunk?: number },
): Promise<{ outbox: number; idempotencyKeys: number }> {
  const now = deps.clock().getTime();
  const chunk = options.chunk ?? 5_000;
  const publishedBefore = new Date(now - options.retentionMs);
  const keysBefore = new Date(now - options.idempotencyTtlMs);
  const outbox = await deleteInChunks(chunk, (limit) =>
    sql`delete from outbox where id in (
          select id from outbox where published_at < ${publishedBefore} limit ${limit})`.execute(deps.db),
  );
  const idempotencyKeys = await deleteInChunks(chunk, (limit) =>
    sql`delete from idempotency_keys where key in (
          select key from idempotency_keys where created_at < ${keysBefore} limit ${limit})`.execute(deps.db),
  );
  return { outbox, idempotencyKeys };
}

/** Repeats a bounded delete until a round deletes less than a chunk: short locks, no huge transaction. */
async function deleteInChunks(
  chunk: number,
  deleteUpTo: (limit: number) => Promise<{ numAffectedRows?: bigint }>,
): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = Number((await deleteUpTo(chunk)).numAffectedRows ?? 0);
    total += deleted;
    if (deleted < chunk) return total;
  }
}
