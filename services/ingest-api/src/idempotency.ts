import type { Redis } from 'ioredis';
import { compareAndDelete } from './compare-and-delete.ts';

const key = (idempotencyKey: string) => `idem:${idempotencyKey}`;

/**
 * What Redis says about a key. `pending`: a request claimed it and has not committed yet (it may
 * still fail, or have died); `committed`: this notification was committed with it. A value from
 * before the two states (a bare id) counts as pending: it was written at claim time.
 */
export type Claim = { claimed: true } | { claimed: false; state: 'pending' | 'committed'; notificationId: string };

const PENDING = 'p:';
const COMMITTED = 'c:';

function parse(value: string): { state: 'pending' | 'committed'; notificationId: string } {
  if (value.startsWith(COMMITTED)) return { state: 'committed', notificationId: value.slice(COMMITTED.length) };
  return { state: 'pending', notificationId: value.startsWith(PENDING) ? value.slice(PENDING.length) : value };
}

/**
 * The fast path: `SET NX` a pending claim for the notification this request will create, for
 * `claimTtlMs` only (longer than any request lives): a request that dies before it commits or
 * releases (SIGKILL) blocks its key that long at most, not for the whole idempotency window.
 * Postgres's primary key on `idempotency_keys` is the guarantee behind it.
 */
export async function claimIdempotencyKey(redis: Redis, idempotencyKey: string, notificationId: string, claimTtlMs: number): Promise<Claim> {
  for (;;) {
    const set = await redis.set(key(idempotencyKey), `${PENDING}${notificationId}`, 'PX', claimTtlMs, 'NX');
    if (set === 'OK') return { claimed: true };
    const existing = await redis.get(key(idempotencyKey));
    // Expired or released between the two calls: claim again rather than answer without an id.
    if (existing !== null) return { claimed: false, ...parse(existing) };
  }
}

/** The key's state now (null when Redis has nothing: expired, released or flushed). */
export async function readIdempotencyKey(redis: Redis, idempotencyKey: string): Promise<{ state: 'pending' | 'committed'; notificationId: string } | null> {
  const value = await redis.get(key(idempotencyKey));
  return value === null ? null : parse(value);
}

/** Milliseconds the key's current value has left (0 when it has none). */
export async function idempotencyKeyTtlMs(redis: Redis, idempotencyKey: string): Promise<number> {
  return Math.max(0, await redis.pttl(key(idempotencyKey)));
}

/** Frees the key after the request failed before commit, so the caller can retry. */
export async function releaseIdempotencyKey(redis: Redis, idempotencyKey: string, notificationId: string): Promise<void> {
  // Only the request that claimed the key may release it.
  await compareAndDelete(redis, key(idempotencyKey), `${PENDING}${notificationId}`);
}

/** Marks the key committed to this notification for the idempotency window (after the commit, or after Postgres named the owner). */
export async function rememberIdempotencyKey(redis: Redis, idempotencyKey: string, notificationId: string, ttlSeconds: number): Promise<void> {
  await redis.set(key(idempotencyKey), `${COMMITTED}${notificationId}`, 'EX', ttlSeconds);
}
