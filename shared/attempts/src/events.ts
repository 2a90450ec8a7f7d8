import type { Channel } from '@hub/domain';
import type { OutboxMessage } from '@hub/db';
import { makeEvent, type AlertFired, type NotificationFannedOut, type Topics, type VendorResult } from '@hub/messaging';

export { deliveryRequestMessage } from '@hub/messaging';

/** The attempt an event is about. */
export interface AttemptRef {
  id: string;
  notification_id: string;
  channel: Channel;
}

/**
 * `notify.vendor.result`, every final outcome. Keyed by notification id, whoever writes it
 * (dispatcher, relay, receipt), so a consumer sees one notification's results in order.
 */
export function vendorResultMessage(
  topics: Pick<Topics, 'vendorResult'>,
  attempt: AttemptRef,
  result: Pick<VendorResult, 'outcome' | 'retryCount' | 'vendorMessageId' | 'failureReason' | 'deliveryStatus' | 'deliveryStatusReason'>,
  now: Date,
): OutboxMessage {
  return {
    topic: topics.vendorResult,
    key: attempt.notification_id,
    payload: makeEvent<VendorResult>(
      'notify.vendor.result',
      { attemptId: attempt.id, notificationId: attempt.notification_id, channel: attempt.channel, ...result },
      now,
    ),
  };
}

/** `alert.fired` for every EXHAUSTED attempt (SPEC §4), keyed like the vendor result. */
export function exhaustedAlertMessage(topics: Pick<Topics, 'alertFired'>, attempt: AttemptRef, failureReason: string, now: Date): OutboxMessage {
  return {
    topic: topics.alertFired,
    key: attempt.notification_id,
    payload: makeEvent<AlertFired>(
      'alert.fired',
      { alertType: 'NOTIFY_VENDOR_EXHAUSTED', attemptId: attempt.id, notificationId: attempt.notification_id, channel: attempt.channel, failureReason },
      now,
    ),
  };
}

/** `notification.fanned-out`, one per accepted notification, keyed by recipient. */
export function fannedOutMessage(
  topics: Pick<Topics, 'fannedOut'>,
  body: Omit<NotificationFannedOut, 'eventId' | 'occurredAt' | 'schemaVersion' | 'type'>,
  now: Date,
): OutboxMessage {
  return {
    topic: topics.fannedOut,
    key: body.recipientId,
    payload: makeEvent<NotificationFannedOut>('notification.fanned-out', body, now),
    availableAt: now,
  };
}
