/** Base and cap of the domain backoff; the defaults are the SPEC's (tests shrink them by env). */
export interface BackoffScale {
  baseMs: number;
  maxMs: number;
}

/** SPEC §2: 2 s, growing ×4, capped at 10 min. */
export const DEFAULT_BACKOFF_SCALE: BackoffScale = { baseMs: 2_000, maxMs: 600_000 };

/** Growth of the domain backoff per failed dispatch (SPEC §2). */
export const RETRY_BACKOFF_FACTOR = 4;

/** Failed dispatches after which an attempt is EXHAUSTED by default (SPEC §2). */
export const DEFAULT_MAX_DISPATCHES = 8;

export interface ExponentialBackoff {
  /** The delay of step 0. */
  baseMs: number;
  /** Growth per step; default 2 (doubling). */
  factor?: number;
  /** Cap applied before the jitter; default none. */
  maxMs?: number;
  /**
   * The capped delay is multiplied by a factor drawn uniformly from [min, min + spread]:
   * { min: 1, spread: 0.2 } adds up to 20 %, { min: 0.5, spread: 1 } is ±50 %,
   * { min: 0.5, spread: 0.5 } only shortens. Default: no jitter.
   */
  jitter?: { min: number; spread: number };
  /** Injected so tests are deterministic; only drawn from when there is jitter. */
  random?: () => number;
}

/**
 * The one exponential backoff: min(baseMs * factor^step, maxMs) times the jitter multiplier,
 * for step = 0, 1, 2… (a negative step counts as 0). Not rounded: a caller that promises whole
 * milliseconds rounds, one that needs seconds divides.
 */
export function exponentialBackoffMs(step: number, backoff: ExponentialBackoff): number {
  const { baseMs, factor = 2, maxMs = Infinity, jitter, random = Math.random } = backoff;
  const capped = Math.min(baseMs * factor ** Math.max(0, step), maxMs);
  if (!jitter) return capped;
  // Added, not factored out: the same floating-point steps as the formulas this replaced, so
  // their rounded results stay identical for the same random draw.
  return capped * jitter.min + capped * jitter.spread * random();
}

/**
 * Domain backoff after the r-th failed dispatch (r >= 1): min(BASE * 4^(r-1), MAX) ms, ±
 * `jitterRatio` of it at random (SPEC §2: 2 s, 8 s, 32 s, ~2 min, ~8.5 min, 10, 10 min: with
 * 8 dispatches ≈ 31 minutes before the DLQ). `random` is injected so tests are deterministic.
 */
export function retryBackoffMs(
  failures: number,
  random: () => number = Math.random,
  jitterRatio = 0.2,
  scale: BackoffScale = DEFAULT_BACKOFF_SCALE,
): number {
  const step = Math.max(1, Math.floor(failures)) - 1;
  return Math.round(
    exponentialBackoffMs(step, {
      baseMs: scale.baseMs,
      factor: RETRY_BACKOFF_FACTOR,
      maxMs: scale.maxMs,
      jitter: { min: 1 - jitterRatio, spread: 2 * jitterRatio },
      random,
    }),
  );
}

/** In-dispatch vendor retry delays: 200, 400, 800 ms, each ±50 % (SPEC §2). */
export function vendorRetryDelayMs(retry: number, random: () => number = Math.random): number {
  return Math.round(exponentialBackoffMs(retry - 1, { baseMs: 200, jitter: { min: 0.5, spread: 1 }, random }));
}
