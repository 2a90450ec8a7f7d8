import { FINAL_ATTEMPT_STATUSES, type AttemptStatus, type Channel } from '@hub/domain';
import { insertOutboxRows, recordAudit, type Tx } from '@hub/db';
import type { Topics } from '@hub/messaging';
import { completeNotifications } from './complete.ts';
import { RECEIPT_COLUMNS, applyDeliveryStatus } from './delivery-receipt.ts';
import { vendorResultMessage } from './events.ts';
import { endsIn, startsFrom } from './guard.ts';

export interface Receipt {
  attemptId: string;
  /** The channel the signing vendor delivers: a receipt never settles another channel's attempt. */
  channel: Channel;
  /** Who the audit trail says sent it (`vendor:<name>`). */
  actor: string;
  success: boolean;
  vendorMessageId?: string | undefined;
  failureReason?: string | undefined;
}

export interface ReceiptResult {
  notificationId: string;
  status: AttemptStatus;
  /** False when the attempt was already final: vendors retry receipts, so a repeat is ignored. */
  applied: boolean;
}

/**
 * A verified vendor receipt, in the caller's transaction, with its DELIVERY_ACK audit row:
 * - already final → ignored;
 * - success → SUCCEEDED (from PENDING too: the dispatcher died after the vendor accepted, and
 *   the receipt proves the dispatch), with the vendor message id and a `notify.vendor.result`
 *   event; the notification is completed if that was its last open attempt;
 * - failure → the reason is recorded and the status left alone: retries and the DLQ belong to
 *   the dispatcher and relay, which own the PENDING/DISPATCHING lifecycle;
 * - failure after SUCCEEDED → the vendor accepted the message and then could not deliver it:
 *   delivery status UNDELIVERED with its `notify.vendor.result` event (`applyDeliveryStatus`);
 *   the same failure again changes nothing.
 * `undefined` when there is no such attempt of that channel.
 */
export async function acknowledgeReceipt(tx: Tx, ctx: { topics: Topics; now: Date }, receipt: Receipt): Promise<ReceiptResult | undefined> {
  const { now } = ctx;
  // Locks the attempt first, as every transition does before it completes a notification.
  const attempt = await tx
    .selectFrom('delivery_attempts')
    .select(RECEIPT_COLUMNS)
    .where('id', '=', receipt.attemptId)
    .forUpdate()
    .executeTakeFirst();
  if (!attempt || attempt.channel !== receipt.channel) return undefined;

  const audit = (applied: boolean, status: AttemptStatus, vendorMessageId: string | null, extra: Record<string, unknown> = {}) =>
    recordAudit(tx, {
      actor: receipt.actor,
      action: 'DELIVERY_ACK',
      targetType: 'delivery_attempt',
      targetId: attempt.id,
      details: { success: receipt.success, applied, status, notificationId: attempt.notification_id, vendorMessageId, ...extra },
    });

  if (attempt.status === 'SUCCEEDED' && !receipt.success) {
    const changed = await applyDeliveryStatus(
      tx,
      ctx,
      attempt,
      { actor: receipt.actor, status: 'UNDELIVERED', reason: receipt.failureReason ?? 'vendor reported failure', vendorMessageId: receipt.vendorMessageId },
      { audit: false },
    );
    await audit(changed.applied, attempt.status, receipt.vendorMessageId ?? null, { deliveryStatus: changed.deliveryStatus });
    return { notificationId: attempt.notification_id, status: attempt.status, applied: changed.applied };
  }

  if (FINAL_ATTEMPT_STATUSES.has(attempt.status)) {
    await audit(false, attempt.status, receipt.vendorMessageId ?? null);
    return { notificationId: attempt.notification_id, status: attempt.status, applied: false };
  }

  if (!receipt.success) {
    await tx
      .updateTable('delivery_attempts')
      .set({ failure_reason: receipt.failureReason ?? 'vendor reported failure', updated_at: now })
      .where('id', '=', attempt.id)
      .execute();
    await audit(true, attempt.status, receipt.vendorMessageId ?? null);
    return { notificationId: attempt.notification_id, status: attempt.status, applied: true };
  }

  const vendorMessageId = receipt.vendorMessageId ?? attempt.vendor_message_id;
  // Every non-final state is a source of the step, and the row is locked: this cannot miss.
  await tx
    .updateTable('delivery_attempts')
    .set({
      status: endsIn('acknowledge'),
      vendor_message_id: vendorMessageId,
      next_attempt_at: null,
      lease_expires_at: null,
      dispatched_at: attempt.dispatched_at ?? now,
      completed_at: now,
      updated_at: now,
    })
    .where('id', '=', attempt.id)
    .where(startsFrom('acknowledge'))
    .returning('id')
    .executeTakeFirstOrThrow();
  await insertOutboxRows(tx, [
    vendorResultMessage(ctx.topics, attempt, { outcome: 'SUCCEEDED', retryCount: attempt.retry_count, vendorMessageId, failureReason: null }, now),
  ]);
  await audit(true, endsIn('acknowledge'), receipt.vendorMessageId ?? null);
  await completeNotifications(tx, [attempt.notification_id], now);
  return { notificationId: attempt.notification_id, status: endsIn('acknowledge'), applied: true };
}
