import type { Redis } from 'ioredis';
import { RateLimiterQueue, RateLimiterRedis } from 'rate-limiter-flexible';

/** Resolves when one more send to the vendor may start. */
export interface SendRateCap {
  take(): Promise<void>;
}

/**
 * A vendor's send-rate cap (its quota, in sends per second) held across every replica of the
 * channel's dispatcher: the counter lives in Redis (rate-limiter-flexible's RateLimiterRedis,
 * atomic per second window), and each process queues its own waiters in arrival order
 * (RateLimiterQueue). A per-process cap let N replicas send at N times the quota.
 */
export function redisSendRateCap(redis: Redis, options: { vendor: string; ratePerSecond: number; keyPrefix?: string }): SendRateCap {
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    points: options.ratePerSecond,
    duration: 1,
    keyPrefix: `${options.keyPrefix ?? ''}vendor-rate`,
  });
  const queue = new RateLimiterQueue(limiter);
  return {
    take: async () => {
      await queue.removeTokens(1, options.vendor);
    },
  };
}
