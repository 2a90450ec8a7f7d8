import { describe, expect, it } from 'vitest';
import { fcmMessage } from './fcm.ts';
import type { VendorRequest } from './types.ts';

const now = new Date('2026-01-01T00:00:00Z');
const base: VendorRequest = { attemptId: 'a1', channel: 'PUSH', address: 'tok', title: 'T', body: 'B' };
const build = (extra: Partial<VendorRequest>, ttlSeconds = 3_600) => fcmMessage({ ...base, ...extra }, { ttlSeconds, now });

describe('fcmMessage', () => {
  it.each(['SECURITY', 'TRANSACTIONAL'] as const)('sends %s at high priority on every platform', (kind) => {
    expect(build({ kind, platform: 'ANDROID' }).android).toEqual({ priority: 'HIGH', ttl: '3600s' });
    expect(build({ kind, platform: 'IOS' }).apns).toEqual({
      headers: { 'apns-priority': '10', 'apns-push-type': 'alert', 'apns-expiration': String(Date.parse('2026-01-01T01:00:00Z') / 1_000) },
    });
    expect(build({ kind, platform: 'WEB' }).webpush).toEqual({ headers: { Urgency: 'high', TTL: '3600' } });
  });

  it.each(['MARKETING', 'SERVICE'] as const)('sends %s at normal priority on every platform', (kind) => {
    expect(build({ kind, platform: 'ANDROID' }).android).toMatchObject({ priority: 'NORMAL' });
    expect(build({ kind, platform: 'IOS' }).apns).toMatchObject({ headers: { 'apns-priority': '5' } });
    expect(build({ kind, platform: 'WEB' }).webpush).toMatchObject({ headers: { Urgency: 'normal' } });
  });

  it('adds only the block of the device platform, and none when the platform is unknown', () => {
    const android = build({ platform: 'ANDROID' });
    expect(Object.keys(android).sort()).toEqual(['android', 'data', 'notification', 'token']);
    expect(Object.keys(build({ platform: null })).sort()).toEqual(['data', 'notification', 'token']);
  });

  it('uses the configured time to live on each platform', () => {
    expect(build({ platform: 'ANDROID' }, 60).android).toMatchObject({ ttl: '60s' });
    expect(build({ platform: 'IOS' }, 60).apns).toMatchObject({ headers: { 'apns-expiration': String(now.getTime() / 1_000 + 60) } });
    expect(build({ platform: 'WEB' }, 60).webpush).toMatchObject({ headers: { TTL: '60' } });
  });

  it('collapses by the payload collapseKey on each platform', () => {
    const payload = { collapseKey: 'score' };
    expect(build({ platform: 'ANDROID', payload }).android).toMatchObject({ collapse_key: 'score' });
    expect(build({ platform: 'IOS', payload }).apns).toMatchObject({ headers: { 'apns-collapse-id': 'score' } });
    expect(build({ platform: 'WEB', payload }).webpush).toMatchObject({ headers: { Topic: 'score' } });
  });

  it('sends the payload as data with the attempt id, leaving out the keys FCM reserves', () => {
    const message = build({ payload: { deepLink: 'app://x', from: 'me', google_x: '1', gcm_y: '2', notification: 'n', message_type: 't' } });
    expect(message.data).toEqual({ deepLink: 'app://x', attemptId: 'a1' });
    expect(message.notification).toEqual({ title: 'T', body: 'B' });
  });

  it('keeps our attempt id even when the payload has one of its own', () => {
    expect(build({ payload: { attemptId: 'spoofed' } }).data).toEqual({ attemptId: 'a1' });
  });
});
