import { sql } from 'kysely';
import { FINAL_ATTEMPT_STATUSES, newId, type AttemptStatus, type Channel } from '@hub/domain';
import { insertOutboxRows, recordAudit, type Db, type Tx } from '@hub/db';
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
 * vendors repeat receipts, and most land on an attempt that is already final. One autocommit
 * statement (`ignoreFinalReceipts`) reads every attempt and writes the audit rows of those
 * ignored; only a receipt that may change something gets a transaction, of its own, which locks
 * the attempt. Hence `db`, not the caller's transaction (and never give it one): which receipts
 * need a transaction is known only once that statement has read them.
 * Throws when the shared statement fails (then nothing was written); otherwise one settled
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
 * One statement for any number of receipts: reads each attempt and, where it is final and the
 * receipt changes nothing (anything but a failure after SUCCEEDED, which changes the delivery
 * status), writes the DELIVERY_ACK audit row the locked path writes for it (same columns and
 * details as `recordAudit`); `open` receipts were not written.
 * No row lock, although EXHAUSTED still moves on (an operator's replay or discard): an ignored
 * receipt changes nothing the attempt's next transition reads, so deciding it on the snapshot
 * this statement reads is the answer the locked path gives when the receipt comes just before a
 * concurrent transition, and a transition committed before the receipt arrived is in the
 * snapshot. SUCCEEDED and PERMANENTLY_FAILED are left by no transition at all.
 */
async function ignoreFinalReceipts(db: Db, receipts: readonly Receipt[]): Promise<Seen[]> {
  // Booleans go as text[] cast to boolean[]: postgres.js cannot send a boolean array, and with
  // a bare ::boolean[] it serializes each string by the boolean rule ('true' !== true: false).
  const { rows } = await sql<{ n: number; notification_id: string; channel: Channel; status: AttemptStatus; ignored: boolean }>`
    with r as (
      select * from unnest(${receipts.map((r) => r.attemptId)}::uuid[], ${receipts.map((r) => r.channel)}::text[], ${receipts.map((r) => r.actor)}::text[],
                           ${receipts.map((r) => String(r.success))}::text[]::boolean[], ${receipts.map((r) => r.vendorMessageId ?? null)}::text[],
                           ${receipts.map(() => newId())}::uuid[])
        with ordinality as r(attempt_id, channel, actor, success, vendor_message_id, audit_id, n)
    ), a as (
      select r.*, d.notification_id, d.channel as attempt_channel, d.status,
             d.channel = r.channel and d.status = any(${[...FINAL_ATTEMPT_STATUSES]}::text[]) and (r.success or d.status <> 'SUCCEEDED') as ignored
      from r join delivery_attempts d on d.id = r.attempt_id
    ), audit as (
      insert into audit_events (id, actor, action, target_type, target_id, details)
      select audit_id, actor, 'DELIVERY_ACK', 'delivery_attempt', attempt_id::text,
             jsonb_build_object('success', success, 'applied', false, 'status', status, 'notificationId', notification_id, 'vendorMessageId', vendor_message_id)
      from a where ignored
    )
    select n::int as n, notification_id, attempt_channel as channel, status, ignored from a`.execute(db);
  const byIndex = new Map(rows.map((row) => [row.n - 1, row]));
  return receipts.map((receipt, i): Seen => {
    const row = byIndex.get(i);
    if (!row || row.channel !== receipt.channel) return { outcome: 'absent' };
    if (!row.ignored) return { outcome: 'open' };
    return { outcome: 'ignored', result: { notificationId: row.notification_id, status: row.status, applied: false } };
  });
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
