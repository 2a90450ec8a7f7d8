import { sql } from 'kysely';
import { outboxInsert, type Db } from '@hub/db';
import type { ClaimedAttempt, OutcomeContext } from './claimed.ts';
import { vendorResultMessage } from './events.ts';
import { endsIn, startsFrom } from './guard.ts';

export interface SucceededDispatch {
  attempt: ClaimedAttempt;
  vendorMessageId: string | null;
}

/**
 * DISPATCHING → SUCCEEDED for many attempts with their vendor-result events, in one statement:
 * atomic on its own, so a batch of successes needs no transaction around it (no BEGIN and
 * COMMIT round trips). An event is written only for an attempt the update changed; the status
 * is null where the attempt was no longer ours (its lease expired and the relay recovered it).
 * The notifications are left to the caller, who completes them after the commit (ADR 0016).
 */
export async function recordSuccesses(db: Db, ctx: Pick<OutcomeContext, 'topics' | 'now'>, successes: SucceededDispatch[]): Promise<('SUCCEEDED' | null)[]> {
  if (successes.length === 0) return [];
  const events = successes.map((s) =>
    vendorResultMessage(ctx.topics, s.attempt, { outcome: 'SUCCEEDED', retryCount: s.attempt.retry_count, vendorMessageId: s.vendorMessageId, failureReason: null }, ctx.now),
  );
  const { rows } = await sql<{ id: string }>`
    with updated as (
      update delivery_attempts a
      set status = ${endsIn('succeed')}, vendor_message_id = v.vendor_message_id, failure_reason = null,
          lease_expires_at = null, next_attempt_at = null, completed_at = ${ctx.now}, updated_at = ${ctx.now}
      from unnest(${successes.map((s) => s.attempt.id)}::uuid[], ${successes.map((s) => s.attempt.retry_count)}::int[],
                  ${successes.map((s) => s.vendorMessageId)}::text[]) as v(id, retry_count, vendor_message_id)
      where a.id = v.id and ${startsFrom('succeed', 'a.status')} and a.retry_count = v.retry_count
      returning a.id),
    announced as (${outboxInsert(events, sql`(e.payload::jsonb ->> 'attemptId')::uuid in (select id from updated)`)})
    select id from updated`.execute(db);
  const updated = new Set(rows.map((r) => r.id));
  return successes.map((s) => (updated.has(s.attempt.id) ? 'SUCCEEDED' : null));
}
