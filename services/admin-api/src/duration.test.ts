import { describe, expect, it } from 'vitest';
import { parseDurationSeconds } from './duration.ts';

describe('parseDurationSeconds', () => {
  it('reads the durations operators use for buckets', () => {
    expect(parseDurationSeconds('PT5M')).toBe(300);
    expect(parseDurationSeconds('PT1H')).toBe(3600);
    expect(parseDurationSeconds('P1D')).toBe(86_400);
    expect(parseDurationSeconds('P1DT12H')).toBe(129_600);
    expect(parseDurationSeconds('PT30S')).toBe(30);
    expect(parseDurationSeconds('P1W')).toBe(604_800);
    expect(parseDurationSeconds('pt15m')).toBe(900);
  });

  it('refuses what is not a fixed-length positive duration', () => {
    for (const bad of ['', 'P', 'PT', 'P1DT', '1H', 'PT0S', 'P1M2', 'P1Y', 'P1M', 'PT1.5H', 'PT-1H', 'hourly']) {
      expect(parseDurationSeconds(bad), bad).toBeUndefined();
    }
  });
});
