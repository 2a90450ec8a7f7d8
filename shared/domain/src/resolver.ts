import { CHANNELS, MANDATORY_KINDS, QUIET_HOURS_BYPASS_KINDS, type Channel, type Kind, type SuppressionReason } from './channels.ts';
import { suppressionKey } from './delivery-status.ts';
import { isInQuietHours, quietHoursEnd, type QuietWindow } from './quiet-hours.ts';

export const QUIET_HOURS_POLICIES = ['SUPPRESS', 'DEFER'] as const;
export type QuietHoursPolicy = (typeof QUIET_HOURS_POLICIES)[number];

/** What a recipient wants for one kind; absent kinds are allowed on every channel. */
export interface KindPreferences {
  allowed: boolean;
  preferredChannels: Channel[];
}

/** A recipient's preferences after defaults are applied (SPEC §2). */
export interface EffectivePreferences {
  kinds: Record<Kind, KindPreferences>;
  /** null = quiet hours disabled. */
  quietHours: QuietWindow | null;
  timezone: string;
}

/** SPEC §2 defaults for a recipient without a preference row. */
export const DEFAULT_QUIET_HOURS: QuietWindow = { start: '22:00', end: '08:00' };
export const DEFAULT_TIMEZONE = 'Asia/Seoul';

export interface StoredPreferences {
  quietHoursEnabled: boolean;
  quietStart: string;
  quietEnd: string;
  /** null → the recipient's own timezone. */
  timezone: string | null;
  kinds: Partial<Record<Kind, { allowed?: boolean; preferredChannels?: Channel[] }>>;
}

/**
 * Applies the defaults to a stored preference row (or none): everything allowed, quiet hours
 * 22:00–08:00, the recipient's timezone. Mandatory kinds are always allowed, whatever is stored.
 */
export function effectivePreferences(stored: StoredPreferences | null, recipientTimezone: string): EffectivePreferences {
  const kinds = {} as Record<Kind, KindPreferences>;
  for (const kind of ['MARKETING', 'TRANSACTIONAL', 'SECURITY', 'SERVICE'] as const) {
    const entry = stored?.kinds[kind];
    kinds[kind] = {
      allowed: MANDATORY_KINDS.has(kind) ? true : (entry?.allowed ?? true),
      preferredChannels: CHANNELS.filter((c) => entry?.preferredChannels?.includes(c)),
    };
  }
  return {
    kinds,
    quietHours: stored
      ? stored.quietHoursEnabled
        ? { start: stored.quietStart, end: stored.quietEnd }
        : null
      : DEFAULT_QUIET_HOURS,
    timezone: stored?.timezone ?? recipientTimezone,
  };
}

export interface ResolverDevice {
  id: string;
  token: string;
  active: boolean;
}

export interface ResolveInput {
  kind: Kind;
  now: Date;
  /** Directory addresses (EMAIL, SMS, KAKAO_ALIMTALK) in the order they were stored. */
  channels: { type: Channel; address: string }[];
  devices: ResolverDevice[];
  preferences: EffectivePreferences;
  onQuietHours: QuietHoursPolicy;
  /**
   * The recipient's addresses on the suppression list, as `suppressionKey(channel, address)`
   * (hard bounces, complaints); they are dropped as if the recipient did not have them.
   */
  suppressed?: ReadonlySet<string>;
}

export interface ResolvedDelivery {
  channel: Channel;
  address: string;
  /** Set for PUSH: the device token row this delivery goes to. */
  deviceTokenId: string | null;
}

export type Resolution =
  | { outcome: 'FANNED_OUT'; deliveries: ResolvedDelivery[]; scheduledFor: null; suppressionReason: null }
  | { outcome: 'SCHEDULED'; deliveries: ResolvedDelivery[]; scheduledFor: Date; suppressionReason: null }
  | { outcome: 'SUPPRESSED'; deliveries: []; scheduledFor: null; suppressionReason: SuppressionReason };

const suppressed = (reason: SuppressionReason): Resolution => ({
  outcome: 'SUPPRESSED',
  deliveries: [],
  scheduledFor: null,
  suppressionReason: reason,
});

/**
 * Channel resolution, SPEC §2 steps 1–6:
 * 1. kind not allowed → OPT_OUT; 2. candidates = recipient channels ∩ the kind's preferred set
 * (when non-empty); 3. inside quiet hours for a kind that respects them → QUIET_HOURS, or with
 * `DEFER` → scheduled for the end of the quiet hours; 4. inside quiet hours KAKAO_ALIMTALK is
 * removed, even for SECURITY; 5. one address per type in channel order, PUSH once per active
 * device, leaving out suppressed addresses; 6. nothing left → NO_ELIGIBLE_CHANNEL, or
 * SUPPRESSED_ADDRESS when the suppression list is what left nothing.
 *
 * A deferred notification is resolved as of `scheduledFor` (outside quiet hours), so it keeps
 * KAKAO_ALIMTALK: the vendor rule forbids night sends, and the send happens in the morning.
 */
export function resolveChannels(input: ResolveInput): Resolution {
  const { kind, preferences } = input;
  const kindPrefs = preferences.kinds[kind];
  if (!kindPrefs.allowed && !MANDATORY_KINDS.has(kind)) return suppressed('OPT_OUT');

  const preferred = kindPrefs.preferredChannels;
  const wanted = (channel: Channel) => preferred.length === 0 || preferred.includes(channel);

  const quiet =
    preferences.quietHours !== null && isInQuietHours(preferences.quietHours, preferences.timezone, input.now);
  let scheduledFor: Date | null = null;
  if (quiet && !QUIET_HOURS_BYPASS_KINDS.has(kind)) {
    if (input.onQuietHours !== 'DEFER') return suppressed('QUIET_HOURS');
    scheduledFor = quietHoursEnd(preferences.quietHours!, preferences.timezone, input.now);
  }
  const sendsInsideQuietHours = quiet && scheduledFor === null;

  const deliveries: ResolvedDelivery[] = [];
  let droppedAsSuppressed = false;
  const allowedAddress = (channel: Channel, address: string) => {
    if (!input.suppressed?.has(suppressionKey(channel, address))) return true;
    droppedAsSuppressed = true;
    return false;
  };
  for (const channel of CHANNELS) {
    if (!wanted(channel)) continue;
    if (channel === 'KAKAO_ALIMTALK' && sendsInsideQuietHours) continue;
    if (channel === 'PUSH') {
      for (const device of input.devices) {
        if (device.active && allowedAddress(channel, device.token)) deliveries.push({ channel, address: device.token, deviceTokenId: device.id });
      }
      continue;
    }
    // A suppressed address is skipped, so a second address of the type (if stored) is used.
    const entry = input.channels.find((c) => c.type === channel && allowedAddress(channel, c.address));
    if (entry) deliveries.push({ channel, address: entry.address, deviceTokenId: null });
  }
  if (deliveries.length === 0) return suppressed(droppedAsSuppressed ? 'SUPPRESSED_ADDRESS' : 'NO_ELIGIBLE_CHANNEL');
  return scheduledFor
    ? { outcome: 'SCHEDULED', deliveries, scheduledFor, suppressionReason: null }
    : { outcome: 'FANNED_OUT', deliveries, scheduledFor: null, suppressionReason: null };
}
