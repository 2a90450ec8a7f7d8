import type { BackoffScale, Channel, ErrorClass, Kind } from '@hub/domain';
import type { AlimtalkButton, DevicePlatform } from '@hub/db';
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
  /** EMAIL from a template with an HTML body (migration 0012); else null. */
  rendered_html_body: string | null;
  /** The notification's kind: MARKETING mail carries a one-click unsubscribe link. */
  kind: Kind;
  /** The notification's payload: PUSH sends it as data (deep links). */
  payload: Record<string, string>;
  /** KAKAO_ALIMTALK from a template: its provider code and rendered buttons (migration 0013); else null. */
  provider_template_code: string | null;
  buttons: AlimtalkButton[] | null;
  /** PUSH: the platform its device token was registered for; only a claim reads it (null if unknown). */
  platform?: DevicePlatform | null;
  /** When this claim runs out; no vendor call may start that could outlive it. */
  lease_expires_at: Date;
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
  'a.rendered_html_body',
  'n.kind',
  'n.payload',
  'a.provider_template_code',
  'a.buttons',
  'a.lease_expires_at',
] as const;

export type DispatchOutcome =
  /** The vendor accepted it; a success without a message id is still a success (SPEC §2). */
  | { kind: 'succeeded'; vendorMessageId: string | null }
  | { kind: 'failed'; errorClass: ErrorClass; detail: string }
  /** No call reached the vendor (breaker open, worker stopping): released until `retryAt`, not counted. */
  | { kind: 'not_sent'; retryAt: Date; reason: string };

/** What recording an outcome needs besides the attempt. */
export interface OutcomeContext {
  topics: Topics;
  now: Date;
  backoff: BackoffScale;
  random?: () => number;
}
