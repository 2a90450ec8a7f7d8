import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/** Resolves when one more send to the vendor may start. */
export interface SendRateCap {
  take(): Promise<void>;
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
 * The second is cut into up to ten slots, each with its share of the granted rate (shares differ
 * by at most one send, so 36 a second is 3,4,4,3,4,3,4,4,3,4), counted under the slot's own key:
 * a fixed one-second window let the whole budget go at the end of one second and again at the
 * start of the next (twice the cap in a rolling second); slots bound any rolling second to the
 * granted rate plus one slot's share. In each process, waiters take their turn one at a time in
 * arrival order, so a backlog does not hammer Redis: the head asks, and when its slot is spent
 * waits for the next one.
 */
export function redisSendRateCap(redis: Redis, options: { vendor: string; ratePerSecond: number; keyPrefix?: string }): SendRateCap {
  const perSecond = Math.max(1, Math.floor(options.ratePerSecond * GRANTED_SHARE));
  const slotsPerSecond = Math.min(10, perSecond);
  const slotMs = 1_000 / slotsPerSecond;
  const share = (slot: number) => {
    const i = slot % slotsPerSecond;
    return Math.floor((perSecond * (i + 1)) / slotsPerSecond) - Math.floor((perSecond * i) / slotsPerSecond);
  };
  const limiters = new Map<number, RateLimiterRedis>();
  const limiterOf = (points: number) => {
    let limiter = limiters.get(points);
    if (!limiter) limiters.set(points, (limiter = new RateLimiterRedis({ storeClient: redis, points, duration: 1, keyPrefix: `${options.keyPrefix ?? ''}vendor-rate` })));
    return limiter;
  };
  let turn: Promise<void> = Promise.resolve();

  const acquire = async (): Promise<void> => {
    for (;;) {
      const slot = Math.floor(Date.now() / slotMs);
      try {
        await limiterOf(share(slot)).consume(`${options.vendor}:${slot}`);
        return;
      } catch (err) {
        // A refusal is a RateLimiterRes (the slot is spent); anything else is Redis failing.
        if (!(err instanceof RateLimiterRes)) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil((slot + 1) * slotMs - Date.now()))));
      }
    }
  };

  return {
    take: () => {
      const mine = turn.then(acquire);
      // The next waiter goes after this one, whether it got its slot or Redis failed.
      turn = mine.catch(() => {});
      return mine;
    },
  };
}
