import { FINAL_ATTEMPT_STATUSES, assertTransition, type AttemptStatus, type Channel } from '@hub/domain';
import { insertOutboxRows, recordAudit } from '@hub/db';
import { notFound } from '@hub/http';
import { makeEvent, type VendorResult } from '@hub/messaging';
import type { Deps } from '../deps.ts';

/** The channel each signing vendor delivers (SMS fallbacks of Kakao attempts go through Twilio). */
const VENDOR_CHANNEL: Record<string, Channel> = {
  fcm: 'PUSH',
  ses: 'EMAIL',
  twilio: 'SMS',
  kakao: 'KAKAO_ALIMTALK',
};

export interface AckInput {
  attemptId: string;
  vendor: string;
  success: boolean;
  vendorMessageId?: string | undefined;
  failureReason?: string | undefined;
}

/**
 * Applies a verified vendor receipt through the attempt state machine.
 * - Already final → ignored (`applied: false`): receipts are retried by vendors.
 * - Success → SUCCEEDED (via DISPATCHING when the attempt is still PENDING, e.g. the
 *   dispatcher crashed after the vendor accepted it: the receipt proves the dispatch), with
 *   the vendor message id, a `notify.vendor.result` event and a DELIVERY_ACK audit row; the
 *   notification becomes COMPLETED once every attempt is final.
 * - Failure → the reason is recorded, the status is left alone: retries and the DLQ belong to
 *   the dispatcher and relay, which own the PENDING/DISPATCHING lifecycle.
 */
export async function ackDelivery(deps: Pick<Deps, 'db' | 'clock' | 'topics'>, input: AckInput): Promise<{ attemptId: string; status: AttemptStatus; applied: boolean }> {
  const now = deps.clock();
  return deps.db.transaction().execute(async (tx) => {
    const head = await tx.selectFrom('delivery_attempts').select(['notification_id', 'channel']).where('id', '=', input.attemptId).executeTakeFirst();
    // A vendor only ever receives its own channel's attempts: a receipt signed with the SES
    // secret must not settle a PUSH attempt. Answered like an unknown attempt (no oracle).
    if (!head || VENDOR_CHANNEL[input.vendor] !== head.channel) {
      throw notFound('NOT_FOUND', `attempt ${input.attemptId} does not exist`);
    }
    // Lock order notification → attempt: concurrent receipts of one notification serialise, so
    // exactly one of them sees "every attempt final" and completes it.
    const notification = await tx.selectFrom('notifications').select(['id', 'recipient_id', 'status']).where('id', '=', head.notification_id).forUpdate().executeTakeFirstOrThrow();
    const attempt = await tx.selectFrom('delivery_attempts').selectAll().where('id', '=', input.attemptId).forUpdate().executeTakeFirstOrThrow();

    const audit = (applied: boolean, status: AttemptStatus) =>
      recordAudit(tx, {
        actor: `vendor:${input.vendor}`,
        action: 'DELIVERY_ACK',
        targetType: 'delivery_attempt',
        targetId: attempt.id,
        details: { success: input.success, applied, status, notificationId: notification.id, vendorMessageId: input.vendorMessageId ?? null },
      });

    if (FINAL_ATTEMPT_STATUSES.has(attempt.status)) {
      await audit(false, attempt.status);
      return { attemptId: attempt.id, status: attempt.status, applied: false };
    }

    if (!input.success) {
      const reason = input.failureReason ?? 'vendor reported failure';
      await tx.updateTable('delivery_attempts').set({ failure_reason: reason, updated_at: now }).where('id', '=', attempt.id).execute();
      await audit(true, attempt.status);
      return { attemptId: attempt.id, status: attempt.status, applied: true };
    }

    const path: AttemptStatus[] = attempt.status === 'PENDING' ? ['DISPATCHING', 'SUCCEEDED'] : ['SUCCEEDED'];
    let from = attempt.status;
    for (const to of path) {
      assertTransition(from, to);
      from = to;
    }
    await tx
      .updateTable('delivery_attempts')
      .set({
        status: 'SUCCEEDED',
        vendor_message_id: input.vendorMessageId ?? attempt.vendor_message_id,
        next_attempt_at: null,
        lease_expires_at: null,
        dispatched_at: attempt.dispatched_at ?? now,
        completed_at: now,
        updated_at: now,
      })
      .where('id', '=', attempt.id)
      .execute();
    await insertOutboxRows(tx, [
      {
        topic: deps.topics.vendorResult,
        key: notification.recipient_id,
        payload: {
          ...makeEvent<VendorResult>(
            'notify.vendor.result',
            {
              attemptId: attempt.id,
              notificationId: notification.id,
              channel: attempt.channel,
              outcome: 'SUCCEEDED',
              retryCount: attempt.retry_count,
              vendorMessageId: input.vendorMessageId ?? attempt.vendor_message_id,
              failureReason: null,
            },
            now,
          ),
        },
      },
    ]);
    await audit(true, 'SUCCEEDED');

    const open = await tx
      .selectFrom('delivery_attempts')
      .select('id')
      .where('notification_id', '=', notification.id)
      .where('status', 'not in', [...FINAL_ATTEMPT_STATUSES])
      .limit(1)
      .executeTakeFirst();
    if (!open && (notification.status === 'FANNED_OUT' || notification.status === 'SCHEDULED')) {
      await tx.updateTable('notifications').set({ status: 'COMPLETED', completed_at: now, updated_at: now }).where('id', '=', notification.id).execute();
    }
    return { attemptId: attempt.id, status: 'SUCCEEDED' as const, applied: true };
  });
}
