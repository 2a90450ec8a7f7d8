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
  it('doubles from one second and caps at one minute without jitter', () => {
    const noJitter = () => 0;
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((r) => retryBackoffMs(r, noJitter))).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000,
    ]);
  });

  it('adds at most 20 % jitter', () => {
    expect(retryBackoffMs(1, () => 0.999)).toBeLessThanOrEqual(1200);
    expect(retryBackoffMs(7, () => 0.999)).toBeLessThanOrEqual(72000);
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
