import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/** Resolves when one more send to the vendor may start. */
export interface SendRateCap {
  take(): Promise<void>;
}

/**
 * A vendor's send-rate cap (its quota, in sends per second) held across every replica of the
 * channel's dispatcher: the counters live in Redis (rate-limiter-flexible's RateLimiterRedis,
 * atomic). A per-process cap let N replicas send at N times the quota.
 *
 * The second is cut into slots of at least 100 ms, each with its share of the quota, counted
 * under the slot's own key: a fixed one-second window let the whole budget go at the end of one
 * second and again at the start of the next (twice the cap in a rolling second); slots bound any
 * rolling second to the cap plus one slot's share (10 % from 10 sends per second up). In each
 * process, waiters take their turn one at a time in arrival order, so a backlog does not hammer
 * Redis: the head asks, and when its slot is spent waits for the next one.
 */
export function redisSendRateCap(redis: Redis, options: { vendor: string; ratePerSecond: number; keyPrefix?: string }): SendRateCap {
  const slotMs = Math.max(100, Math.ceil(1_000 / options.ratePerSecond));
  const perSlot = Math.max(1, Math.floor((options.ratePerSecond * slotMs) / 1_000));
  const limiter = new RateLimiterRedis({ storeClient: redis, points: perSlot, duration: 1, keyPrefix: `${options.keyPrefix ?? ''}vendor-rate` });
  let turn: Promise<void> = Promise.resolve();

  const acquire = async (): Promise<void> => {
    for (;;) {
      const slot = Math.floor(Date.now() / slotMs);
      try {
        await limiter.consume(`${options.vendor}:${slot}`);
        return;
      } catch (err) {
        // A refusal is a RateLimiterRes (the slot is spent); anything else is Redis failing.
        if (!(err instanceof RateLimiterRes)) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, (slot + 1) * slotMs - Date.now())));
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
