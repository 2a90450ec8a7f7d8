import type { Channel } from './channels.ts';

/**
 * What the vendor later says became of a message it accepted (issue 15). Separate from the
 * attempt's status: SUCCEEDED means "the vendor accepted it", a delivery status is its receipt.
 */
export const DELIVERY_STATUSES = ['DELIVERED', 'UNDELIVERED', 'BOUNCED', 'COMPLAINED'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

// How final each status is. Receipts arrive out of order and more than once: a status replaces
// the recorded one only when it is at least as final and different. DELIVERED and UNDELIVERED
// may replace each other (SES delivers after a transient bounce; the latest word wins), a hard
// bounce replaces both, and a complaint (the recipient marked it as spam, after delivery) is
// the last word.
const RANK: Record<DeliveryStatus, number> = { DELIVERED: 0, UNDELIVERED: 0, BOUNCED: 1, COMPLAINED: 2 };

/** Whether a receipt saying `next` changes an attempt whose delivery status is `current`. */
export function deliveryStatusChanges(current: DeliveryStatus | null, next: DeliveryStatus): boolean {
  if (current === null) return true;
  if (current === next) return false;
  return RANK[next] >= RANK[current];
}

/** Hard bounces and complaints put the address on the suppression list. */
export function deliveryStatusSuppresses(status: DeliveryStatus): status is 'BOUNCED' | 'COMPLAINED' {
  return status === 'BOUNCED' || status === 'COMPLAINED';
}

/**
 * The form an address is compared in on the suppression list: trimmed, and for EMAIL
 * lowercased (mailbox providers treat the local part case-insensitively in practice, and a
 * bounce must suppress "Kim@Example.com" as well as "kim@example.com"). E.164 numbers and device
 * tokens are compared as stored.
 */
export function normaliseAddress(channel: Channel, address: string): string {
  const value = address.trim();
  return channel === 'EMAIL' ? value.toLowerCase() : value;
}

/** The key of one address in the set of suppressed addresses the resolver is given. */
export function suppressionKey(channel: Channel, address: string): string {
  return `${channel}:${normaliseAddress(channel, address)}`;
}
