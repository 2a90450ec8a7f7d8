import { describe, expect, it } from 'vitest';
import {
  DELIVERY_STATUSES,
  deliveryStatusChanges,
  deliveryStatusSuppresses,
  effectivePreferences,
  normaliseAddress,
  resolveChannels,
  suppressionKey,
  type DeliveryStatus,
  type ResolveInput,
} from './index.ts';

describe('deliveryStatusChanges', () => {
  it.each(DELIVERY_STATUSES)('records %s on an attempt without a delivery status', (next) => {
    expect(deliveryStatusChanges(null, next)).toBe(true);
  });

  it.each(DELIVERY_STATUSES)('ignores %s received again (a replayed or repeated receipt)', (status) => {
    expect(deliveryStatusChanges(status, status)).toBe(false);
  });

  it.each<[DeliveryStatus, DeliveryStatus, boolean]>([
    ['UNDELIVERED', 'DELIVERED', true],
    ['DELIVERED', 'UNDELIVERED', true],
    ['DELIVERED', 'BOUNCED', true],
    ['DELIVERED', 'COMPLAINED', true],
    ['UNDELIVERED', 'BOUNCED', true],
    ['BOUNCED', 'COMPLAINED', true],
    ['BOUNCED', 'DELIVERED', false],
    ['BOUNCED', 'UNDELIVERED', false],
    ['COMPLAINED', 'DELIVERED', false],
    ['COMPLAINED', 'UNDELIVERED', false],
    ['COMPLAINED', 'BOUNCED', false],
  ])('from %s, a receipt saying %s changes it: %s', (current, next, changes) => {
    expect(deliveryStatusChanges(current, next)).toBe(changes);
  });

  it('suppresses the address on hard bounces and complaints only', () => {
    expect(DELIVERY_STATUSES.filter(deliveryStatusSuppresses)).toEqual(['BOUNCED', 'COMPLAINED']);
  });
});

describe('normaliseAddress', () => {
  it('lowercases and trims EMAIL addresses', () => {
    expect(normaliseAddress('EMAIL', ' Kim@Example.COM ')).toBe('kim@example.com');
  });

  it('keeps phone numbers and device tokens as stored, trimmed', () => {
    expect(normaliseAddress('SMS', ' +821012345678')).toBe('+821012345678');
    expect(normaliseAddress('PUSH', 'AbC-token')).toBe('AbC-token');
  });

  it('keys a suppressed address by channel, so the same number on SMS and Kakao stay apart', () => {
    expect(suppressionKey('SMS', '+821012345678')).not.toBe(suppressionKey('KAKAO_ALIMTALK', '+821012345678'));
  });
});

describe('resolveChannels with suppressed addresses', () => {
  const DAY = new Date('2026-03-10T03:00:00Z'); // noon in Seoul
  const input = (overrides: Partial<ResolveInput> = {}): ResolveInput => ({
    kind: 'SECURITY',
    now: DAY,
    channels: [
      { type: 'EMAIL', address: 'Kim@Example.com' },
      { type: 'SMS', address: '+821012345678' },
    ],
    devices: [],
    preferences: effectivePreferences(null, 'Asia/Seoul'),
    onQuietHours: 'SUPPRESS',
    ...overrides,
  });

  it('drops a suppressed address and keeps the others', () => {
    const r = resolveChannels(input({ suppressed: new Set([suppressionKey('EMAIL', 'kim@example.com')]) }));
    expect(r.outcome).toBe('FANNED_OUT');
    expect(r.deliveries.map((d) => d.channel)).toEqual(['SMS']);
  });

  it('suppresses with SUPPRESSED_ADDRESS when the suppression list leaves nothing', () => {
    const r = resolveChannels(input({ suppressed: new Set([suppressionKey('EMAIL', 'kim@example.com'), suppressionKey('SMS', '+821012345678')]) }));
    expect(r).toEqual({ outcome: 'SUPPRESSED', deliveries: [], scheduledFor: null, suppressionReason: 'SUPPRESSED_ADDRESS' });
  });

  it('uses a second address of the type when the first is suppressed', () => {
    const r = resolveChannels(
      input({
        channels: [
          { type: 'EMAIL', address: 'old@example.com' },
          { type: 'EMAIL', address: 'new@example.com' },
        ],
        suppressed: new Set([suppressionKey('EMAIL', 'old@example.com')]),
      }),
    );
    expect(r.deliveries).toEqual([{ channel: 'EMAIL', address: 'new@example.com', deviceTokenId: null }]);
  });

  it('keeps NO_ELIGIBLE_CHANNEL when the preferences, not the list, left nothing', () => {
    const preferences = effectivePreferences(null, 'Asia/Seoul');
    preferences.kinds.SECURITY.preferredChannels = ['KAKAO_ALIMTALK'];
    const r = resolveChannels(input({ preferences, suppressed: new Set([suppressionKey('EMAIL', 'kim@example.com')]) }));
    expect(r.suppressionReason).toBe('NO_ELIGIBLE_CHANNEL');
  });

  it('leaves an opted-out kind OPT_OUT whatever is suppressed', () => {
    const preferences = effectivePreferences(null, 'Asia/Seoul');
    preferences.kinds.MARKETING.allowed = false;
    const r = resolveChannels(input({ kind: 'MARKETING', preferences, suppressed: new Set([suppressionKey('SMS', '+821012345678')]) }));
    expect(r.suppressionReason).toBe('OPT_OUT');
  });
});
