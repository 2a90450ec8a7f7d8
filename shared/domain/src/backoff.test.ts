import { describe, expect, it } from 'vitest';
import { exponentialBackoffMs, retryBackoffMs, type ExponentialBackoff } from './backoff.ts';

/** The largest value Math.random() can return. */
const almostOne = 1 - 2 ** -53;
const noDraw = () => {
  throw new Error('drew a random number without jitter');
};

// The spreads the hub uses: domain retries, vendor retries, database reconnects.
const jitters: { name: string; jitter: NonNullable<ExponentialBackoff['jitter']>; low: number; high: number }[] = [
  { name: 'up to +20 %', jitter: { min: 1, spread: 0.2 }, low: 1, high: 1.2 },
  { name: '±50 %', jitter: { min: 0.5, spread: 1 }, low: 0.5, high: 1.5 },
  { name: 'half to whole', jitter: { min: 0.5, spread: 0.5 }, low: 0.5, high: 1 },
];

describe('exponentialBackoffMs', () => {
  it('waits the base at step 0 and doubles at each step by default', () => {
    expect([0, 1, 2, 3, 4, 5].map((step) => exponentialBackoffMs(step, { baseMs: 100 }))).toEqual([100, 200, 400, 800, 1600, 3200]);
  });

  it('grows by the given factor, and stays constant with a factor of 1', () => {
    expect([0, 1, 2, 3].map((step) => exponentialBackoffMs(step, { baseMs: 10, factor: 3 }))).toEqual([10, 30, 90, 270]);
    expect([0, 1, 7].map((step) => exponentialBackoffMs(step, { baseMs: 10, factor: 1 }))).toEqual([10, 10, 10]);
  });

  it('holds at maxMs from the first step that would pass it', () => {
    expect([4, 5, 6, 7, 1_000].map((step) => exponentialBackoffMs(step, { baseMs: 100, maxMs: 5_000 }))).toEqual([
      1600, 3200, 5000, 5000, 5000,
    ]);
    expect(exponentialBackoffMs(0, { baseMs: 100, maxMs: 100 })).toBe(100);
  });

  it('has no cap unless given one', () => {
    expect(exponentialBackoffMs(40, { baseMs: 1 })).toBe(2 ** 40);
  });

  it('counts a negative step as step 0', () => {
    expect(exponentialBackoffMs(-1, { baseMs: 200 })).toBe(200);
    expect(exponentialBackoffMs(-10, { baseMs: 200, maxMs: 100 })).toBe(100);
  });

  it('draws no random number without jitter', () => {
    expect(exponentialBackoffMs(3, { baseMs: 100, maxMs: 5_000, random: noDraw })).toBe(800);
  });

  it('does not round: the unit is the caller’s', () => {
    expect(exponentialBackoffMs(1, { baseMs: 0.05, maxMs: 2 })).toBe(0.1);
    expect(exponentialBackoffMs(0, { baseMs: 3, jitter: { min: 1, spread: 0.5 }, random: () => 0.5 })).toBe(3.75);
  });

  for (const { name, jitter, low, high } of jitters) {
    describe(`with jitter ${name}`, () => {
      it('is the low end of the range when random() is 0', () => {
        expect(exponentialBackoffMs(2, { baseMs: 100, jitter, random: () => 0 })).toBe(400 * low);
      });

      it('is the middle of the range when random() is 0.5', () => {
        expect(exponentialBackoffMs(2, { baseMs: 100, jitter, random: () => 0.5 })).toBeCloseTo((400 * (low + high)) / 2, 9);
      });

      it('approaches but stays below the high end as random() approaches 1', () => {
        const delay = exponentialBackoffMs(2, { baseMs: 100, jitter, random: () => almostOne });
        expect(delay).toBeLessThanOrEqual(400 * high);
        expect(delay).toBeCloseTo(400 * high, 9);
      });

      it('applies after the cap, so the cap bounds the delay before jitter', () => {
        expect(exponentialBackoffMs(20, { baseMs: 100, maxMs: 5_000, jitter, random: () => 0 })).toBe(5_000 * low);
        expect(exponentialBackoffMs(20, { baseMs: 100, maxMs: 5_000, jitter, random: () => almostOne })).toBeCloseTo(5_000 * high, 9);
      });

      it('stays within [capped × low, capped × high] for every step and draw', () => {
        const draws = [...Array.from({ length: 64 }, (_, i) => i / 64), almostOne];
        for (let step = 0; step <= 30; step++) {
          const capped = Math.min(50 * 2 ** step, 60_000);
          for (const r of draws) {
            const delay = exponentialBackoffMs(step, { baseMs: 50, maxMs: 60_000, jitter, random: () => r });
            expect(delay).toBeGreaterThanOrEqual(capped * low);
            expect(delay).toBeLessThanOrEqual(capped * high);
          }
        }
      });
    });
  }
});

describe('retryBackoffMs on top of exponentialBackoffMs', () => {
  it('spreads the jitter on both sides of the delay', () => {
    // 50 × 4 = 200 ms; ±10 % with a draw of 0.25 is 200 × 0.9 + 200 × 0.2 × 0.25 = 190 ms.
    expect(retryBackoffMs(2, () => 0.25, 0.1, { baseMs: 50, maxMs: 400 })).toBe(190);
    expect(retryBackoffMs(2, () => 0.75, 0.1, { baseMs: 50, maxMs: 400 })).toBe(210);
  });

  it('floors a fractional failure count and counts anything below 1 as the first failure', () => {
    expect([-3, 0, 1, 1.9, 2].map((failures) => retryBackoffMs(failures, () => 0.5))).toEqual([2000, 2000, 2000, 2000, 8000]);
  });
});
