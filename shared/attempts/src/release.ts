import { sql } from 'kysely';
import type { Db } from '@hub/db';
import type { ClaimedAttempt } from './claimed.ts';
import { endsIn, startsFrom } from './guard.ts';

/**
 * DISPATCHING → PENDING for dispatches that never reached the vendor (its breaker open, the
 * worker stopping): not failed dispatches (SPEC §2), so the retry count stays and a vendor
 * outage of any length ends in deliveries, not in the DLQ. `retryAt` becomes next_attempt_at,
 * when the relay re-drives it. In one statement; null where the attempt was no longer ours.
 */
export async function releaseAttempts(db: Db, ctx: { now: Date }, items: { attempt: ClaimedAttempt; retryAt: Date }[]): Promise<('PENDING' | null)[]> {
  if (items.length === 0) return [];
  const { rows } = await sql<{ id: string }>`
    update delivery_attempts a
    set status = ${endsIn('release')}, lease_expires_at = null, next_attempt_at = v.retry_at, updated_at = ${ctx.now}
    from unnest(${items.map((i) => i.attempt.id)}::uuid[], ${items.map((i) => i.attempt.retry_count)}::int[],
                ${items.map((i) => i.retryAt.toISOString())}::timestamptz[]) as v(id, retry_count, retry_at)
    where a.id = v.id and ${startsFrom('release', 'a.status')} and a.retry_count = v.retry_count
    returning a.id`.execute(db);
  const released = new Set(rows.map((r) => r.id));
  return items.map((i) => (released.has(i.attempt.id) ? endsIn('release') : null));
}
