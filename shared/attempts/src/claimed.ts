import type { BackoffScale, Channel, ErrorClass } from '@hub/domain';
import type { Topics } from '@hub/messaging';

/** An attempt a worker holds in DISPATCHING (what a claim returns). */
export interface ClaimedAttempt {
  id: string;
  notification_id: string;
  recipient_id: string;
  channel: Channel;
  address: string;
  device_token_id: string | null;
  priority: boolean;
  retry_count: number;
  max_retry: number;
  fallback_of: string | null;
  rendered_title: string;
  rendered_body: string;
}

export const CLAIMED_COLUMNS = [
  'a.id',
  'a.notification_id',
  'n.recipient_id',
  'a.channel',
  'a.address',
  'a.device_token_id',
  'a.priority',
  'a.retry_count',
  'a.max_retry',
  'a.fallback_of',
  'a.rendered_title',
  'a.rendered_body',
] as const;

export type DispatchOutcome =
  | { kind: 'succeeded'; vendorMessageId: string }
  | { kind: 'failed'; errorClass: ErrorClass; detail: string };

/** What recording an outcome needs besides the attempt. */
export interface OutcomeContext {
  topics: Topics;
  now: Date;
  backoff: BackoffScale;
  random?: () => number;
}
