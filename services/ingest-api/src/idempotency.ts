import type { Redis } from 'ioredis';

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

// Only the request that claimed the key may release it (compare-and-delete).
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** The script as a command of the client: EVALSHA, EVAL after NOSCRIPT, keys with the client's keyPrefix. */
interface IdempotencyCommands {
  releaseIdempotencyKeyScript(key: string, owner: string): Promise<number>;
}

/**
 * Defines the command on this client (definitions are per client; no I/O). createApp calls it
 * before the first request: with auto-pipelining, a pipeline opened before the definition lacks
 * the command, and ioredis then throws outside any promise (the process dies).
 */
export function withIdempotencyCommands(redis: Redis): Redis & IdempotencyCommands {
  const client = redis as Redis & Partial<IdempotencyCommands>;
  if (!client.releaseIdempotencyKeyScript) redis.defineCommand('releaseIdempotencyKeyScript', { numberOfKeys: 1, lua: RELEASE_LUA });
  return client as Redis & IdempotencyCommands;
}

/** Frees the key after the request failed before commit, so the caller can retry. */
export async function releaseIdempotencyKey(redis: Redis, idempotencyKey: string, notificationId: string): Promise<void> {
  await withIdempotencyCommands(redis).releaseIdempotencyKeyScript(key(idempotencyKey), `${PENDING}${notificationId}`);
}

/** Marks the key committed to this notification for the idempotency window (after the commit, or after Postgres named the owner). */
export async function rememberIdempotencyKey(redis: Redis, idempotencyKey: string, notificationId: string, ttlSeconds: number): Promise<void> {
  await redis.set(key(idempotencyKey), `${COMMITTED}${notificationId}`, 'EX', ttlSeconds);
}
