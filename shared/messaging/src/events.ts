import { z } from 'zod';
import { CHANNELS, DELIVERY_STATUSES, KINDS, newId, type Channel } from '@hub/domain';
import type { Topics } from './topics.ts';

/** Every event carries these (SPEC §4). Bump `schemaVersion` on a breaking change. */
const envelope = {
  eventId: z.uuid(),
  occurredAt: z.iso.datetime({ offset: true }),
  schemaVersion: z.literal(1),
};

export const deliveryRequestedSchema = z.object({
  ...envelope,
  type: z.literal('delivery.requested'),
  attemptId: z.uuid(),
  notificationId: z.uuid(),
  channel: z.enum(CHANNELS),
  priority: z.boolean(),
  /** The attempt's retry_count when this message was written; older messages are stale. */
  retryCount: z.number().int().min(0),
});
export type DeliveryRequested = z.infer<typeof deliveryRequestedSchema>;

export const notificationFannedOutSchema = z.object({
  ...envelope,
  type: z.literal('notification.fanned-out'),
  notificationId: z.uuid(),
  recipientId: z.string(),
  kind: z.enum(KINDS),
  status: z.enum(['FANNED_OUT', 'SCHEDULED']),
  attempts: z.array(z.object({ attemptId: z.uuid(), channel: z.enum(CHANNELS) })),
});
export type NotificationFannedOut = z.infer<typeof notificationFannedOutSchema>;

export const vendorResultSchema = z.object({
  ...envelope,
  type: z.literal('notify.vendor.result'),
  attemptId: z.uuid(),
  notificationId: z.uuid(),
  channel: z.enum(CHANNELS),
  outcome: z.enum(['SUCCEEDED', 'EXHAUSTED', 'PERMANENTLY_FAILED']),
  retryCount: z.number().int().min(0),
  vendorMessageId: z.string().nullable(),
  failureReason: z.string().nullable(),
  // Added with issue 15, optional so events written before it still parse (schema version 1
  // unchanged; consumers that do not know the field drop it). Set on the event a vendor receipt
  // writes when it moves the attempt's delivery status (outcome then stays SUCCEEDED: the vendor
  // accepted the message, and this is its later word on it); absent or null otherwise.
  deliveryStatus: z.enum(DELIVERY_STATUSES).nullable().optional(),
  // The vendor's reason for UNDELIVERED, BOUNCED or COMPLAINED (error code, bounce type).
  deliveryStatusReason: z.string().nullable().optional(),
});
export type VendorResult = z.infer<typeof vendorResultSchema>;

export const alertFiredSchema = z.object({
  ...envelope,
  type: z.literal('alert.fired'),
  alertType: z.literal('NOTIFY_VENDOR_EXHAUSTED'),
  attemptId: z.uuid(),
  notificationId: z.uuid(),
  channel: z.enum(CHANNELS),
  failureReason: z.string().nullable(),
});
export type AlertFired = z.infer<typeof alertFiredSchema>;

type Envelope = 'eventId' | 'occurredAt' | 'schemaVersion' | 'type';

/** Fills the envelope; `now` comes from the caller's clock. */
export function makeEvent<T extends { type: string }>(
  type: T['type'],
  body: Omit<T, Envelope>,
  now: Date,
): T {
  return { eventId: newId(), occurredAt: now.toISOString(), schemaVersion: 1, type, ...body } as unknown as T;
}

/** An outbox message as `insertOutboxRows` (@hub/db) takes it. */
export interface OutboxMessageShape<T> {
  topic: string;
  key: string;
  payload: T;
  availableAt?: Date;
}

/**
 * THE delivery message contract, used by everything that (re)requests a dispatch: the
 * channel's topic (priority lane for SECURITY/TRANSACTIONAL), keyed by recipient so a
 * recipient's deliveries share a partition, carrying the attempt's retry count at writing time
 * (a dispatcher ignores a message whose count is stale).
 */
export function deliveryRequestMessage(
  topics: Pick<Topics, 'delivery'>,
  attempt: { attemptId: string; notificationId: string; recipientId: string; channel: Channel; priority: boolean; retryCount: number },
  now: Date,
  availableAt?: Date,
): OutboxMessageShape<DeliveryRequested> {
  const { recipientId, ...body } = attempt;
  return {
    // A priority attempt's retry has its own lane (topics.ts): a first send's backlog never holds it.
    topic: topics.delivery(attempt.channel, attempt.priority, attempt.priority && attempt.retryCount > 0),
    key: recipientId,
    payload: makeEvent<DeliveryRequested>('delivery.requested', body, now),
    ...(availableAt ? { availableAt } : {}),
  };
}
