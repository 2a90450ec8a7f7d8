/** Delivery channels in resolution order (SPEC §2: PUSH, EMAIL, SMS, KAKAO_ALIMTALK). */
export const CHANNELS = ['PUSH', 'EMAIL', 'SMS', 'KAKAO_ALIMTALK'] as const;
export type Channel = (typeof CHANNELS)[number];

export const KINDS = ['MARKETING', 'TRANSACTIONAL', 'SECURITY', 'SERVICE'] as const;
export type Kind = (typeof KINDS)[number];

/** Kinds a recipient cannot opt out of. */
export const MANDATORY_KINDS: ReadonlySet<Kind> = new Set(['TRANSACTIONAL', 'SECURITY']);
/** Kinds delivered even inside quiet hours. */
export const QUIET_HOURS_BYPASS_KINDS: ReadonlySet<Kind> = new Set(['SECURITY']);
/** Kinds that use the channel's priority topic, so they never wait behind bulk sends. */
export const PRIORITY_KINDS: ReadonlySet<Kind> = new Set(['SECURITY', 'TRANSACTIONAL']);

export const NOTIFICATION_STATUSES = ['ACCEPTED', 'FANNED_OUT', 'SCHEDULED', 'SUPPRESSED', 'COMPLETED'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

// SUPPRESSED_ADDRESS: every eligible address is on the suppression list (hard bounce, complaint).
export const SUPPRESSION_REASONS = ['OPT_OUT', 'QUIET_HOURS', 'NO_ELIGIBLE_CHANNEL', 'SUPPRESSED_ADDRESS'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];
