import type { Redis } from 'ioredis';
import { ensureScript } from './redis-script.ts';

const key = (idempotencyKey: string) => `idem:${idempotencyKey}`;

export type Claim = { claimed: true } | { claimed: false; notificationId: string };

/**
 * The fast path: `SET NX` the key to the notification id this request will create. A second
 * request sees that id at once (even while the first is still running). Postgres's primary key
 * on `idempotency_keys` is the guarantee behind it.
 */
export async function claimIdempotencyKey(redis: Redis, idempotencyKey: string, notificationId: string, ttlSeconds: number): Promise<Claim> {
  const set = await redis.set(key(idempotencyKey), notificationId, 'EX', ttlSeconds, 'NX');
  if (set === 'OK') return { claimed: true };
  const existing = await redis.get(key(idempotencyKey));
  // Expired between the two calls: claim again rather than answer without an id.
  if (existing === null) return claimIdempotencyKey(redis, idempotencyKey, notificationId, ttlSeconds);
  return { claimed: false, notificationId: existing };
}

// Only the request that claimed the key may release it (compare-and-delete).
const releaseScript = ensureScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** Frees the key after the request failed before commit, so the caller can retry. */
export async function releaseIdempotencyKey(redis: Redis, idempotencyKey: string, notificationId: string): Promise<void> {
  await releaseScript(redis, [key(idempotencyKey)], [notificationId]);
}

/** Points the key at the notification Postgres says owns it (after Redis lost it). */
export async function rememberIdempotencyKey(redis: Redis, idempotencyKey: string, notificationId: string, ttlSeconds: number): Promise<void> {
  await redis.set(key(idempotencyKey), notificationId, 'EX', ttlSeconds);
}
