import { describe, expect, it } from 'vitest';
import { signUnsubscribeToken, verifyUnsubscribeToken } from './index.ts';

const SECRET = 'unsubscribe-secret-for-tests';
const issuedAt = new Date('2026-12-03T10:00:00Z');
const day = (n: number) => new Date(issuedAt.getTime() + n * 86_400_000);

describe('one-click unsubscribe tokens', () => {
  it('verifies a token it signed and names the recipient and MARKETING', () => {
    const token = signUnsubscribeToken(SECRET, { recipientId: 'user-1', issuedAt });
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(verifyUnsubscribeToken(SECRET, token, { now: day(1), maxAgeDays: 90 })).toEqual({ ok: true, recipientId: 'user-1', kind: 'MARKETING' });
  });

  it('refuses a token signed with another secret, or with its recipient swapped', () => {
    const token = signUnsubscribeToken('another-secret', { recipientId: 'user-1', issuedAt });
    expect(verifyUnsubscribeToken(SECRET, token, { now: issuedAt, maxAgeDays: 90 })).toEqual({ ok: false, reason: 'forged' });
    const [, signature] = signUnsubscribeToken(SECRET, { recipientId: 'user-1', issuedAt }).split('.');
    const swapped = `${Buffer.from(JSON.stringify({ r: 'user-2', k: 'MARKETING', d: '2026-12-03' })).toString('base64url')}.${signature}`;
    expect(verifyUnsubscribeToken(SECRET, swapped, { now: issuedAt, maxAgeDays: 90 })).toEqual({ ok: false, reason: 'forged' });
  });

  it('refuses garbage without throwing', () => {
    for (const token of ['', 'abc', 'a.b.c', 'not base64.x', '.']) {
      expect(verifyUnsubscribeToken(SECRET, token, { now: issuedAt, maxAgeDays: 90 }).ok).toBe(false);
    }
  });

  it('expires after the allowed age, counted in whole days from the day of issue', () => {
    const token = signUnsubscribeToken(SECRET, { recipientId: 'user-1', issuedAt });
    expect(verifyUnsubscribeToken(SECRET, token, { now: day(90), maxAgeDays: 90 }).ok).toBe(true);
    expect(verifyUnsubscribeToken(SECRET, token, { now: day(91), maxAgeDays: 90 })).toEqual({ ok: false, reason: 'expired' });
    expect(verifyUnsubscribeToken(SECRET, token, { now: day(-2), maxAgeDays: 90 })).toEqual({ ok: false, reason: 'expired' });
  });
});
