import { FINAL_ATTEMPT_STATUSES, type AttemptStatus, type Channel } from '@hub/domain';
import { auditInsert, insertOutboxRows, recordAudit, type AuditEntry, type Db, type Tx } from '@hub/db';
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
 * Verified vendor receipts, each with its DELIVERY_ACK audit row:
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
 *
 * Any number of receipts at once, so concurrent requests can share a commit (group commit):
 * vendors repeat receipts, and most land on an attempt that is already final. Two autocommit
 * statements (`ignoreFinalReceipts`) read every attempt and write the audit rows of those
 * ignored; only a receipt that may change something gets a transaction, of its own, which locks
 * the attempt. Hence `db`, not the caller's transaction (and never give it one): which receipts
 * need a transaction is known only once that statement has read them.
 * Throws when the shared statements fail (then nothing was written); otherwise one settled
 * result per receipt, in order, a rejected one for a receipt whose own transaction failed.
 */
export async function acknowledgeReceipt(db: Db, ctx: { topics: Topics; now: Date }, receipts: readonly Receipt[]): Promise<PromiseSettledResult<ReceiptResult | undefined>[]> {
  const seen = await ignoreFinalReceipts(db, receipts);
  return Promise.allSettled(
    seen.map(async (s, i) => {
      if (s.outcome === 'absent') return undefined;
      if (s.outcome === 'ignored') return s.result;
      return db.transaction().execute((tx) => acknowledgeLocked(tx, ctx, receipts[i]!));
    }),
  );
}

type Seen = { outcome: 'absent' } | { outcome: 'ignored'; result: ReceiptResult } | { outcome: 'open' };

/**
 * For any number of receipts: one statement reads their attempts, and one more writes, through
 * the hub's one audit writer, the DELIVERY_ACK rows of those ignored (final, and the receipt
 * changes nothing: anything but a failure after SUCCEEDED, which changes the delivery status),
 * with the details the locked path writes; `open` receipts were not written.
 * No row lock, although EXHAUSTED still moves on (an operator's replay or discard): an ignored
 * receipt changes nothing the attempt's next transition reads, so deciding it on the snapshot
 * the read saw is the answer the locked path gives when the receipt comes just before a
 * concurrent transition, and a transition committed before the receipt arrived is in the
 * snapshot. SUCCEEDED and PERMANENTLY_FAILED are left by no transition at all.
 */
async function ignoreFinalReceipts(db: Db, receipts: readonly Receipt[]): Promise<Seen[]> {
  const rows = await db
    .selectFrom('delivery_attempts')
    .select(['id', 'notification_id', 'channel', 'status'])
    .where('id', 'in', [...new Set(receipts.map((r) => r.attemptId))])
    .execute();
  const byId = new Map(rows.map((row) => [row.id, row]));
  const seen = receipts.map((receipt): Seen => {
    const attempt = byId.get(receipt.attemptId);
    if (!attempt || attempt.channel !== receipt.channel) return { outcome: 'absent' };
    if (!FINAL_ATTEMPT_STATUSES.has(attempt.status) || (attempt.status === 'SUCCEEDED' && !receipt.success)) return { outcome: 'open' };
    return { outcome: 'ignored', result: { notificationId: attempt.notification_id, status: attempt.status, applied: false } };
  });
  const audits = receipts.flatMap((receipt, i) => {
    const s = seen[i]!;
    if (s.outcome !== 'ignored') return [];
    return [receiptAudit(receipt, byId.get(receipt.attemptId)!.id, { applied: false, status: s.result.status, notificationId: s.result.notificationId, vendorMessageId: receipt.vendorMessageId ?? null })];
  });
  if (audits.length > 0) await auditInsert(audits).execute(db);
  return seen;
}

/** The DELIVERY_ACK audit row of a receipt, the same from the shared statement and the locked path. */
function receiptAudit(
  receipt: Receipt,
  attemptId: string,
  outcome: { applied: boolean; status: AttemptStatus; notificationId: string; vendorMessageId: string | null },
  extra: Record<string, unknown> = {},
): AuditEntry {
  return {
    actor: receipt.actor,
    action: 'DELIVERY_ACK',
    targetType: 'delivery_attempt',
    targetId: attemptId,
    details: { success: receipt.success, ...outcome, ...extra },
  };
}

/** The receipt on a row this transaction locks: every case that may change something. */
async function acknowledgeLocked(tx: Tx, ctx: { topics: Topics; now: Date }, receipt: Receipt): Promise<ReceiptResult | undefined> {
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
    recordAudit(tx, receiptAudit(receipt, attempt.id, { applied, status, notificationId: attempt.notification_id, vendorMessageId }, extra));

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
