import {
  deliveryStatusChanges,
  deliveryStatusSuppresses,
  newId,
  normaliseAddress,
  type AttemptStatus,
  type Channel,
  type DeliveryStatus,
} from '@hub/domain';
import { insertOutboxRows, recordAudit, type Tx } from '@hub/db';
import type { Topics } from '@hub/messaging';
import { completeNotifications } from './complete.ts';
import { vendorResultMessage } from './events.ts';
import { endsIn, startsFrom } from './guard.ts';

/** A vendor's word on what became of one message, verified by the caller (signature, channel). */
export interface DeliveryReceipt {
  /** The attempt, by its id (a tag or URL the hub gave the vendor) or by the vendor's message id. */
  attempt: { id: string } | { vendorMessageId: string };
  /** The channel the vendor delivers: a receipt never touches another channel's attempt. */
  channel: Channel;
  /** Who the audit trail and the suppression list say sent it (`vendor:<name>`). */
  actor: string;
  status: DeliveryStatus;
  /** The vendor's reason (error code, bounce type), kept for UNDELIVERED, BOUNCED and COMPLAINED. */
  reason?: string | null | undefined;
  vendorMessageId?: string | null | undefined;
}

export interface DeliveryReceiptResult {
  attemptId: string;
  notificationId: string;
  status: AttemptStatus;
  deliveryStatus: DeliveryStatus | null;
  /** False when it changed nothing: the same status again (a replay), an older word, a failed attempt. */
  applied: boolean;
  /** True when this receipt put the address on the suppression list. */
  suppressed: boolean;
}

/** The columns a delivery-status change reads from the locked attempt. */
export const RECEIPT_COLUMNS = [
  'id',
  'notification_id',
  'channel',
  'address',
  'status',
  'retry_count',
  'vendor_message_id',
  'dispatched_at',
  'delivery_status',
] as const;

export interface ReceiptAttempt {
  id: string;
  notification_id: string;
  channel: Channel;
  address: string;
  status: AttemptStatus;
  retry_count: number;
  vendor_message_id: string | null;
  dispatched_at: Date | null;
  delivery_status: DeliveryStatus | null;
}

/**
 * A verified delivery receipt, in the caller's transaction:
 * - no attempt of that channel → `undefined` (the caller answers like an unknown attempt);
 * - an attempt that failed (EXHAUSTED, PERMANENTLY_FAILED) or whose recorded status is as final
 *   or more (the same status again: a replayed or repeated receipt) → nothing is written,
 *   `applied: false`; vendors repeat receipts, and a replay must change nothing;
 * - a PENDING or DISPATCHING attempt is first moved to SUCCEEDED: any receipt proves the vendor
 *   accepted the message (the dispatcher died, or has not committed yet), as `acknowledgeReceipt`
 *   does, completing the notification if that was its last open attempt;
 * - then the delivery status is recorded, one `notify.vendor.result` event (outcome SUCCEEDED,
 *   with `deliveryStatus`) goes to the outbox, a hard bounce or complaint puts the address on the
 *   suppression list, and a DELIVERY_STATUS audit row is written, all in the same transaction.
 */
export async function recordDeliveryReceipt(tx: Tx, ctx: { topics: Topics; now: Date }, receipt: DeliveryReceipt): Promise<DeliveryReceiptResult | undefined> {
  // Locks the attempt first, as every transition does before it completes a notification.
  let query = tx.selectFrom('delivery_attempts').select(RECEIPT_COLUMNS).where('channel', '=', receipt.channel);
  query =
    'id' in receipt.attempt
      ? query.where('id', '=', receipt.attempt.id)
      : // A vendor id names one message; the oldest attempt wins should a fake ever repeat one.
        query.where('vendor_message_id', '=', receipt.attempt.vendorMessageId).orderBy('id').limit(1);
  const attempt = await query.forUpdate().executeTakeFirst();
  if (!attempt) return undefined;
  return applyDeliveryStatus(tx, ctx, attempt, receipt);
}

/**
 * The delivery-status step on an attempt the caller has locked (`RECEIPT_COLUMNS`, `for update`);
 * shared with `acknowledgeReceipt`, whose failure receipt after SUCCEEDED means UNDELIVERED.
 */
export async function applyDeliveryStatus(
  tx: Tx,
  ctx: { topics: Topics; now: Date },
  attempt: ReceiptAttempt,
  receipt: Omit<DeliveryReceipt, 'attempt' | 'channel'>,
  options: { audit: boolean } = { audit: true },
): Promise<DeliveryReceiptResult> {
  const { now } = ctx;
  const unchanged: DeliveryReceiptResult = {
    attemptId: attempt.id,
    notificationId: attempt.notification_id,
    status: attempt.status,
    deliveryStatus: attempt.delivery_status,
    applied: false,
    suppressed: false,
  };
  const failed = attempt.status === 'EXHAUSTED' || attempt.status === 'PERMANENTLY_FAILED';
  if (failed || !deliveryStatusChanges(attempt.delivery_status, receipt.status)) return unchanged;

  const reason = receipt.status === 'DELIVERED' ? null : (receipt.reason ?? null);
  const vendorMessageId = attempt.vendor_message_id ?? receipt.vendorMessageId ?? null;
  const accepting = attempt.status !== 'SUCCEEDED';
  const update = tx
    .updateTable('delivery_attempts')
    .set({
      delivery_status: receipt.status,
      delivery_status_at: now,
      delivery_status_reason: reason,
      vendor_message_id: vendorMessageId,
      updated_at: now,
      ...(accepting
        ? { status: endsIn('acknowledge'), next_attempt_at: null, lease_expires_at: null, dispatched_at: attempt.dispatched_at ?? now, completed_at: now }
        : {}),
    })
    .where('id', '=', attempt.id);
  // The row is locked and its status read above: the guard cannot miss.
  await (accepting ? update.where(startsFrom('acknowledge')) : update).returning('id').executeTakeFirstOrThrow();

  let suppressed = false;
  if (deliveryStatusSuppresses(receipt.status)) {
    const row = await tx
      .insertInto('suppressed_addresses')
      .values({
        id: newId(),
        channel: attempt.channel,
        address: normaliseAddress(attempt.channel, attempt.address),
        reason: receipt.status,
        source: receipt.actor,
        attempt_id: attempt.id,
        created_at: now,
      })
      // Already on the list (an earlier bounce, an operator): the first entry and its reason stay.
      .onConflict((oc) => oc.columns(['channel', 'address']).doNothing())
      .returning('id')
      .executeTakeFirst();
    suppressed = row !== undefined;
  }

  await insertOutboxRows(tx, [
    vendorResultMessage(
      ctx.topics,
      attempt,
      {
        outcome: 'SUCCEEDED',
        retryCount: attempt.retry_count,
        vendorMessageId,
        failureReason: null,
        deliveryStatus: receipt.status,
        deliveryStatusReason: reason,
      },
      now,
    ),
  ]);
  if (options.audit) {
    await recordAudit(tx, {
      actor: receipt.actor,
      action: 'DELIVERY_STATUS',
      targetType: 'delivery_attempt',
      targetId: attempt.id,
      details: {
        notificationId: attempt.notification_id,
        deliveryStatus: receipt.status,
        previousDeliveryStatus: attempt.delivery_status,
        reason,
        suppressed,
        vendorMessageId,
      },
    });
  }
  if (accepting) await completeNotifications(tx, [attempt.notification_id], now);
  return {
    attemptId: attempt.id,
    notificationId: attempt.notification_id,
    status: endsIn('acknowledge'),
    deliveryStatus: receipt.status,
    applied: true,
    suppressed,
  };
}
