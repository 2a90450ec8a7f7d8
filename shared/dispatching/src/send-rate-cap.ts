import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/** Resolves when one more send to the vendor may start. */
export interface SendRateCap {
  /** The grant, before the claim: a backlog waits here, with no lease running (SPEC §4). */
  take(): Promise<void>;
  /**
   * The gate, right before the call: the full quota per slot, so sends granted earlier cannot
   * reach the vendor in a burst when claims stalled in between. Resolves false when no slot
   * opens before `deadline` (epoch ms): the call must not start.
   */
  gate(deadline?: number): Promise<boolean>;
}

/**
 * The share of the quota granted. A slot is granted before the claim (the lease starts only once
 * a call may start, SPEC §4), so the claim's round trip spreads the sends after their grant: a
 * chaos run with two replicas measured 45-47 sends in one second at the vendor for a cap of 40
 * granted in full. 90 % leaves the vendor a margin for that spread.
 */
export const GRANTED_SHARE = 0.9;

/**
 * A vendor's send-rate cap (its quota, in sends per second) held across every replica of the
 * channel's dispatcher: the counters live in Redis (rate-limiter-flexible's RateLimiterRedis,
 * atomic). A per-process cap let N replicas send at N times the quota.
 *
 * Two stages, both cut into slots of up to a tenth of a second (a fixed one-second window let
 * the whole budget go at the end of one second and again at the start of the next):
 * - the grant (`take`), before the claim, at GRANTED_SHARE of the quota: a backlog queues here;
 * - the gate (`gate`), right before the call, at the full quota: claims that stalled (a slow
 *   database, a rebalance) would otherwise release sends granted over several slots at once
 *   (a chaos run saw 32 within 100 ms). The gate rarely waits, and never past the lease.
 */
export function redisSendRateCap(redis: Redis, options: { vendor: string; ratePerSecond: number; keyPrefix?: string }): SendRateCap {
  const limiters = new Map<number, RateLimiterRedis>();
  const limiterOf = (points: number) => {
    let limiter = limiters.get(points);
    if (!limiter) limiters.set(points, (limiter = new RateLimiterRedis({ storeClient: redis, points, duration: 1, keyPrefix: `${options.keyPrefix ?? ''}vendor-rate` })));
    return limiter;
  };
  const grant = slotted(limiterOf, `${options.vendor}:grant`, Math.max(1, Math.floor(options.ratePerSecond * GRANTED_SHARE)));
  const gate = slotted(limiterOf, `${options.vendor}:gate`, Math.max(1, Math.floor(options.ratePerSecond)));
  return {
    take: async () => void (await grant(undefined)),
    gate: (deadline) => gate(deadline),
  };
}

/**
 * `perSecond` sends a second in up to ten slots whose shares differ by at most one (36 a second
 * is 3,4,4,3,4,3,4,4,3,4), counted in Redis under the slot's own key. Waiters of this process go
 * one at a time in arrival order: the head asks, and when its slot is spent waits for the next.
 * Resolves false when the next free slot starts at or after `deadline`.
 */
function slotted(limiterOf: (points: number) => RateLimiterRedis, key: string, perSecond: number): (deadline: number | undefined) => Promise<boolean> {
  const slotsPerSecond = Math.min(10, perSecond);
  const slotMs = 1_000 / slotsPerSecond;
  const share = (slot: number) => {
    const i = slot % slotsPerSecond;
    return Math.floor((perSecond * (i + 1)) / slotsPerSecond) - Math.floor((perSecond * i) / slotsPerSecond);
  };
  let turn: Promise<unknown> = Promise.resolve();
  const acquire = async (deadline: number | undefined): Promise<boolean> => {
    for (;;) {
      const slot = Math.floor(Date.now() / slotMs);
      try {
        await limiterOf(share(slot)).consume(`${key}:${slot}`);
        return true;
      } catch (err) {
        // A refusal is a RateLimiterRes (the slot is spent); anything else is Redis failing.
        if (!(err instanceof RateLimiterRes)) throw err;
        const next = (slot + 1) * slotMs;
        if (deadline !== undefined && next >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(next - Date.now()))));
      }
    }
  };
  return (deadline) => {
    const mine = turn.then(() => acquire(deadline));
    // The next waiter goes after this one, whether it got its slot or Redis failed.
    turn = mine.catch(() => {});
    return mine;
  };
}
