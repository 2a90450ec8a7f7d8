import { sql } from 'kysely';
import type { Tx } from '@hub/db';
import type { Channel } from '@hub/domain';
import type { Topics } from '@hub/messaging';
import { startsFrom } from './guard.ts';
import { announce } from './redrive.ts';

/**
 * The lost-record sweep (SPEC §4): a PENDING attempt with no retry scheduled whose delivery
 * request became due more than `olderThanMs` ago and is no longer waiting in the outbox was
 * published and never claimed: its Kafka record was lost (unclean leader election, retention
 * while the dispatchers were down, a deleted topic). It gets a fresh `delivery.requested` at
 * its retry count, so no attempt stays PENDING forever; if the record was merely slow (a long
 * consumer backlog), the second copy finds the attempt claimed and does nothing. Returns how many.
 */
export async function sweepLostDeliveries(tx: Tx, ctx: { topics: Topics; now: Date }, options: { olderThanMs: number; limit: number }): Promise<number> {
  const { rows } = await sql<{ id: string; notification_id: string; channel: Channel; priority: boolean; retry_count: number; recipient_id: string }>`
    select a.id, a.notification_id, a.channel, a.priority, a.retry_count, n.recipient_id
    from delivery_attempts a
    join notifications n on n.id = a.notification_id
    where ${startsFrom('claim', 'a.status')} and a.next_attempt_at is null
      and a.requested_at < ${new Date(ctx.now.getTime() - options.olderThanMs)}
      and a.id::text not in (
        select o.payload ->> 'attemptId' from outbox o
        where o.published_at is null and o.payload ->> 'attemptId' is not null)
    order by a.requested_at
    limit ${options.limit}
    for update of a skip locked`.execute(tx);
  if (rows.length === 0) return 0;
  await announce(tx, ctx, rows);
  return rows.length;
}
