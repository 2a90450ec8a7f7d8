import { sql } from 'kysely';
import type { Db } from '@hub/db';
import type { ClaimedAttempt } from './claimed.ts';
import { endsIn, startsFrom } from './guard.ts';

/**
 * PENDING → DISPATCHING for many delivery messages in one statement, each only if its attempt is
 * still PENDING at the retry count the message was written for. A duplicate or stale message
 * (already dispatched, retried since, replayed), or one for an attempt another message of the
 * same batch already claimed, gets `undefined`: the caller does nothing.
 */
export async function claimAttempts(
  db: Db,
  items: { attemptId: string; retryCount: number }[],
  input: { leaseMs: number; now: Date },
): Promise<(ClaimedAttempt | undefined)[]> {
  const { rows } = await sql<ClaimedAttempt>`
    update delivery_attempts a
    set status = ${endsIn('claim')}, lease_expires_at = ${new Date(input.now.getTime() + input.leaseMs)},
        dispatched_at = ${input.now}, updated_at = ${input.now}
    from notifications n,
         unnest(${items.map((i) => i.attemptId)}::uuid[], ${items.map((i) => i.retryCount)}::int[]) as v(id, retry_count)
    where a.id = v.id and a.retry_count = v.retry_count and ${startsFrom('claim', 'a.status')} and n.id = a.notification_id
    returning a.id, a.notification_id, n.recipient_id, a.channel, a.address, a.device_token_id, a.priority,
              a.retry_count, a.max_retry, a.fallback_of, a.rendered_title, a.rendered_body,
              a.rendered_html_body, n.kind, n.payload, a.provider_template_code, a.buttons,
              (select d.platform from device_tokens d where d.id = a.device_token_id) as platform,
              a.lease_expires_at`.execute(db);
  const claimed = new Map(rows.map((r) => [r.id, r]));
  return items.map((item) => {
    const row = claimed.get(item.attemptId);
    if (row?.retry_count !== item.retryCount) return undefined;
    claimed.delete(item.attemptId);
    return row;
  });
}
