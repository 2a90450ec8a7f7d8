/** Base and cap of the domain backoff; the defaults are the SPEC's (tests shrink them by env). */
export interface BackoffScale {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF_SCALE: BackoffScale = { baseMs: 1_000, maxMs: 60_000 };

/**
 * Domain backoff after the r-th failed dispatch (r >= 1): min(1000 * 2^(r-1), 60000) ms plus
 * up to `jitterRatio` of it at random. `random` is injected so tests are deterministic.
 */
export function retryBackoffMs(
  failures: number,
  random: () => number = Math.random,
  jitterRatio = 0.2,
  scale: BackoffScale = DEFAULT_BACKOFF_SCALE,
): number {
  const r = Math.max(1, Math.floor(failures));
  const base = Math.min(scale.baseMs * 2 ** (r - 1), scale.maxMs);
  return Math.round(base + base * jitterRatio * random());
}

/** In-dispatch vendor retry delays: 200, 400, 800 ms, each ±50 % (SPEC §2). */
export function vendorRetryDelayMs(retry: number, random: () => number = Math.random): number {
  const base = 200 * 2 ** Math.max(0, retry - 1);
  return Math.round(base * (0.5 + random()));
}
