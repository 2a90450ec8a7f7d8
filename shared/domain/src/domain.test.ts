import { describe, expect, it } from 'vitest';
import {
  ATTEMPT_STATUSES,
  IllegalTransitionError,
  assertTransition,
  canTransition,
  errorClassOf,
  maskAddress,
  retryBackoffMs,
  vendorRetryDelayMs,
} from './index.ts';

describe('attempt state machine', () => {
  const legal = new Set([
    'PENDING>DISPATCHING',
    'DISPATCHING>SUCCEEDED',
    'DISPATCHING>PENDING',
    'DISPATCHING>EXHAUSTED',
    'EXHAUSTED>PENDING',
    'EXHAUSTED>PERMANENTLY_FAILED',
  ]);
  for (const from of ATTEMPT_STATUSES) {
    for (const to of ATTEMPT_STATUSES) {
      const edge = `${from}>${to}`;
      it(`${legal.has(edge) ? 'allows' : 'rejects'} ${from} -> ${to}`, () => {
        expect(canTransition(from, to)).toBe(legal.has(edge));
        if (legal.has(edge)) expect(() => assertTransition(from, to)).not.toThrow();
        else expect(() => assertTransition(from, to)).toThrow(IllegalTransitionError);
      });
    }
  }
});

describe('retryBackoffMs', () => {
  it('grows ×4 from two seconds and caps at ten minutes (SPEC §2), ±20 % jitter centred', () => {
    const centred = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((r) => retryBackoffMs(r, centred))).toEqual([
      2000, 8000, 32000, 128000, 512000, 600000, 600000, 600000,
    ]);
  });

  it('waits about 31 minutes over eight dispatches before the DLQ', () => {
    const total = [1, 2, 3, 4, 5, 6, 7].reduce((sum, r) => sum + retryBackoffMs(r, () => 0.5), 0);
    expect(total / 60_000).toBeCloseTo(31.4, 0);
  });

  it('stays within ±20 %', () => {
    expect(retryBackoffMs(1, () => 0)).toBe(1600);
    expect(retryBackoffMs(1, () => 0.999)).toBeLessThanOrEqual(2400);
    expect(retryBackoffMs(7, () => 0.999)).toBeLessThanOrEqual(720000);
  });
});

describe('vendorRetryDelayMs', () => {
  it('is 200, 400, 800 ms within ±50 %', () => {
    expect([1, 2, 3].map((r) => vendorRetryDelayMs(r, () => 0.5))).toEqual([200, 400, 800]);
    expect(vendorRetryDelayMs(1, () => 0)).toBe(100);
    expect(vendorRetryDelayMs(3, () => 1)).toBe(1200);
  });
});

describe('maskAddress', () => {
  it('keeps two characters at each end', () => {
    expect(maskAddress('EMAIL', 'alice@example.com')).toBe('EMAIL:al***om');
    expect(maskAddress('SMS', '+821012345678')).toBe('SMS:+8***78');
  });

  it('hides short addresses entirely', () => {
    expect(maskAddress('PUSH', 'abcd')).toBe('PUSH:****');
    expect(maskAddress('PUSH', 'abcde')).toBe('PUSH:ab***de');
  });
});

describe('errorClassOf', () => {
  it('takes the first word before a colon or space', () => {
    expect(errorClassOf('transient: 503 from vendor')).toBe('transient');
    expect(errorClassOf('permanent rejected content')).toBe('permanent');
    expect(errorClassOf('invalid_recipient:token')).toBe('invalid_recipient');
    expect(errorClassOf(null)).toBeNull();
  });
});
