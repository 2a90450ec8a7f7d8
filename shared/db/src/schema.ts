import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** A timestamptz column: read as Date, written as Date or SQL. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** jsonb: postgres.js serialises objects itself (never pass pre-stringified JSON). */
type Json<T> = ColumnType<T, T, T>;

export type { Channel as ChannelType, Kind as NotificationKind, NotificationStatus, AttemptStatus } from '@hub/domain';
import type { Channel as ChannelType, Kind as NotificationKind, NotificationStatus, AttemptStatus } from '@hub/domain';
export type { DeliveryStatus } from '@hub/domain';
import type { DeliveryStatus } from '@hub/domain';
export type SuppressionSource = 'BOUNCED' | 'COMPLAINED' | 'MANUAL';
export type DevicePlatform = 'ANDROID' | 'IOS' | 'WEB';
export type BulkOperation = 'REPLAY' | 'DISCARD';
export type BulkJobState = 'RUNNING' | 'SUCCEEDED' | 'PARTIAL_FAILURE' | 'FAILED';

/** A Kakao AlimTalk button as NAVER SENS takes it (type WL, AL, DS, BK, MD, AC, BC, BT, BF). */
export interface AlimtalkButton {
  type: string;
  name: string;
  linkMobile?: string;
  linkPc?: string;
  schemeIos?: string;
  schemeAndroid?: string;
}

export interface RecipientChannel {
  type: Exclude<ChannelType, 'PUSH'>;
  address: string;
}

export interface KindPreference {
  allowed?: boolean;
  preferredChannels?: ChannelType[];
}

export interface RecipientsTable {
  id: string;
  channels: Json<RecipientChannel[]>;
  locale: ColumnType<string, string | undefined, string>;
  timezone: ColumnType<string, string | undefined, string>;
  /** The `sub` of the service caller that created it; null when authentication was off (ADR 0021). */
  created_by: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RecipientPreferencesTable {
  recipient_id: string;
  quiet_hours_enabled: ColumnType<boolean, boolean | undefined, boolean>;
  quiet_start: ColumnType<string, string | undefined, string>;
  quiet_end: ColumnType<string, string | undefined, string>;
  timezone: string | null;
  kinds: Json<Partial<Record<NotificationKind, KindPreference>>>;
  updated_at: Timestamp;
}

export interface DeviceTokensTable {
  id: string;
  recipient_id: string;
  platform: DevicePlatform;
  token: string;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  disabled_reason: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface TemplatesTable {
  id: string;
  key: string;
  locale: string;
  channel_type: ChannelType;
  title_template: string;
  body_template: string;
  /** EMAIL only: the HTML body next to the text one, values HTML-escaped (migration 0012). */
  html_body: ColumnType<string | null, string | null | undefined, string | null>;
  /** KAKAO_ALIMTALK only: the template's code at the provider (SENS templateCode), migration 0013. */
  provider_template_code: ColumnType<string | null, string | null | undefined, string | null>;
  /** KAKAO_ALIMTALK only: the buttons approved with the template (placeholders allowed), migration 0013. */
  buttons: ColumnType<AlimtalkButton[] | null, AlimtalkButton[] | null | undefined, AlimtalkButton[] | null>;
  created_at: Timestamp;
}

export interface NotificationsTable {
  id: string;
  recipient_id: string;
  kind: NotificationKind;
  title: string | null;
  body: string | null;
  template_key: string | null;
  payload: Json<Record<string, string>>;
  status: NotificationStatus;
  suppression_reason: string | null;
  scheduled_for: NullableTimestamp;
  idempotency_key: string;
  /** The `sub` of the caller that sent it; null when authentication was off (ADR 0021). */
  created_by: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
  completed_at: NullableTimestamp;
}

export interface IdempotencyKeysTable {
  key: string;
  notification_id: string;
  created_at: Timestamp;
}

export interface DeliveryAttemptsTable {
  id: string;
  notification_id: string;
  channel: ChannelType;
  address: string;
  device_token_id: string | null;
  status: AttemptStatus;
  priority: ColumnType<boolean, boolean | undefined, boolean>;
  retry_count: ColumnType<number, number | undefined, number>;
  max_retry: ColumnType<number, number | undefined, number>;
  next_attempt_at: NullableTimestamp;
  lease_expires_at: NullableTimestamp;
  /** When the current delivery request became due; the lost-record sweep's clock (migration 0009). */
  requested_at: NullableTimestamp;
  rendered_title: string;
  rendered_body: string;
  /** EMAIL from a template with an HTML body: that body as rendered (migration 0012); else null. */
  rendered_html_body: ColumnType<string | null, string | null | undefined, string | null>;
  /** KAKAO_ALIMTALK from a template: its provider template code and rendered buttons (migration 0013); else null. */
  provider_template_code: ColumnType<string | null, string | null | undefined, string | null>;
  buttons: ColumnType<AlimtalkButton[] | null, AlimtalkButton[] | null | undefined, AlimtalkButton[] | null>;
  sms_segments: number | null;
  vendor_message_id: string | null;
  failure_reason: string | null;
  fallback_of: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  dispatched_at: NullableTimestamp;
  completed_at: NullableTimestamp;
  /** The vendor's later word on an accepted message (migration 0011); null until a receipt says. */
  delivery_status: ColumnType<DeliveryStatus | null, DeliveryStatus | null | undefined, DeliveryStatus | null>;
  delivery_status_at: NullableTimestamp;
  delivery_status_reason: ColumnType<string | null, string | null | undefined, string | null>;
}

/** An address no message goes to any more (hard bounce, complaint, operator), migration 0011. */
export interface SuppressedAddressesTable {
  id: string;
  channel: ChannelType;
  /** Normalised as the domain's `normaliseAddress` does, so lookups compare like with like. */
  address: string;
  reason: SuppressionSource;
  /** Who put it there: `vendor:ses`, `vendor:twilio`, `admin:…`. */
  source: string;
  attempt_id: string | null;
  created_at: Timestamp;
}

export interface OutboxTable {
  id: string;
  topic: string;
  message_key: string | null;
  payload: Json<Record<string, unknown>>;
  headers: Json<Record<string, string>>;
  available_at: Timestamp;
  created_at: Timestamp;
  published_at: NullableTimestamp;
  publish_attempts: Generated<number>;
  last_error: string | null;
}

export interface AuditEventsTable {
  id: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string | null;
  details: Json<Record<string, unknown>>;
  created_at: Timestamp;
}

export interface BulkJobsTable {
  id: string;
  operation: BulkOperation;
  filters: Json<Record<string, unknown>>;
  reason: string | null;
  actor: string;
  state: BulkJobState;
  total_count: ColumnType<number, number | undefined, number>;
  processed_count: ColumnType<number, number | undefined, number>;
  success_count: ColumnType<number, number | undefined, number>;
  failure_count: ColumnType<number, number | undefined, number>;
  first_error: string | null;
  cursor: string | null;
  snapshot_max_id: string | null;
  lease_owner: string | null;
  lease_expires_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  finished_at: NullableTimestamp;
}

export interface BulkJobItemsTable {
  job_id: string;
  attempt_id: string;
  outcome: 'SUCCEEDED' | 'FAILED';
  error: string | null;
  created_at: Timestamp;
}

export interface Database {
  recipients: RecipientsTable;
  recipient_preferences: RecipientPreferencesTable;
  device_tokens: DeviceTokensTable;
  templates: TemplatesTable;
  notifications: NotificationsTable;
  idempotency_keys: IdempotencyKeysTable;
  delivery_attempts: DeliveryAttemptsTable;
  outbox: OutboxTable;
  audit_events: AuditEventsTable;
  bulk_jobs: BulkJobsTable;
  bulk_job_items: BulkJobItemsTable;
  suppressed_addresses: SuppressedAddressesTable;
}

export type Recipient = Selectable<RecipientsTable>;
export type RecipientPreferences = Selectable<RecipientPreferencesTable>;
export type DeviceToken = Selectable<DeviceTokensTable>;
export type Template = Selectable<TemplatesTable>;
export type Notification = Selectable<NotificationsTable>;
export type NewNotification = Insertable<NotificationsTable>;
export type DeliveryAttempt = Selectable<DeliveryAttemptsTable>;
export type NewDeliveryAttempt = Insertable<DeliveryAttemptsTable>;
export type DeliveryAttemptUpdate = Updateable<DeliveryAttemptsTable>;
export type OutboxRow = Selectable<OutboxTable>;
export type NewOutboxRow = Insertable<OutboxTable>;
export type AuditEvent = Selectable<AuditEventsTable>;
export type NewAuditEvent = Insertable<AuditEventsTable>;
export type BulkJob = Selectable<BulkJobsTable>;
export type SuppressedAddress = Selectable<SuppressedAddressesTable>;
