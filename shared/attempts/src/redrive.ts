import { insertOutboxRows, type Tx } from '@hub/db';
import type { Channel } from '@hub/domain';
import type { Topics } from '@hub/messaging';
import { deliveryRequestMessage } from './events.ts';
import { startsFrom } from './guard.ts';

/**
 * Attempts waiting for their retry (PENDING with next_attempt_at due) get a fresh
 * `delivery.requested` at their current retry_count, and next_attempt_at is cleared in the same
 * transaction, so each due retry is announced exactly once even with several relays. The status
 * does not change: the claim of the new message moves it on. Returns how many were re-driven.
 */
export async function redriveDueRetries(tx: Tx, ctx: { topics: Topics; now: Date }, limit: number): Promise<number> {
  const due = await tx
    .selectFrom('delivery_attempts as a')
    .innerJoin('notifications as n', 'n.id', 'a.notification_id')
    .select(['a.id', 'a.notification_id', 'a.channel', 'a.priority', 'a.retry_count', 'n.recipient_id'])
    .where(startsFrom('claim', 'a.status'))
    .where('a.next_attempt_at', '<=', ctx.now)
    .orderBy('a.next_attempt_at')
    .limit(limit)
    .forUpdate('a')
    .skipLocked()
    .execute();
  if (due.length === 0) return 0;
  await announce(tx, ctx, due);
  return due.length;
}

/** PENDING attempts (locked by the caller) get a fresh `delivery.requested` at their retry count, due now. */
export async function announce(
  tx: Tx,
  ctx: { topics: Topics; now: Date },
  attempts: { id: string; notification_id: string; recipient_id: string; channel: Channel; priority: boolean; retry_count: number }[],
): Promise<void> {
  await tx
    .updateTable('delivery_attempts')
    .set({ next_attempt_at: null, requested_at: ctx.now, updated_at: ctx.now })
    .where('id', 'in', attempts.map((a) => a.id))
    .execute();
  await insertOutboxRows(
    tx,
    attempts.map((a) =>
      deliveryRequestMessage(
        ctx.topics,
        { attemptId: a.id, notificationId: a.notification_id, recipientId: a.recipient_id, channel: a.channel, priority: a.priority, retryCount: a.retry_count },
        ctx.now,
      ),
    ),
  );
}
