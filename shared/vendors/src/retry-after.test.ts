import { describe, expect, it } from 'vitest';
import { retryAfterMs } from './http.ts';

const answer = (value?: string) => new Response(null, { status: 429, headers: value === undefined ? {} : { 'retry-after': value } });
const now = Date.parse('2026-01-01T00:00:00Z');

describe('retryAfterMs', () => {
  it('reads delay-seconds', () => {
    expect(retryAfterMs(answer('7'), now)).toBe(7_000);
    expect(retryAfterMs(answer('0'), now)).toBe(0);
  });

  it('reads an HTTP date as the time left until it, and a past date as now', () => {
    expect(retryAfterMs(answer('Thu, 01 Jan 2026 00:00:30 GMT'), now)).toBe(30_000);
    expect(retryAfterMs(answer('Wed, 31 Dec 2025 23:00:00 GMT'), now)).toBe(0);
  });

  it('is undefined without the header or with one it cannot read', () => {
    expect(retryAfterMs(answer(), now)).toBeUndefined();
    expect(retryAfterMs(answer('soon'), now)).toBeUndefined();
    expect(retryAfterMs(answer('-5'), now)).toBeUndefined();
  });
});
