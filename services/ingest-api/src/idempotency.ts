import type { Redis } from 'ioredis';

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
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

// Replace the owner only if it is still the one we saw (another request may have taken over).
const TAKE_OVER_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
  return 1
end
return 0
`;

/** The scripts as commands of the client: EVALSHA, EVAL after NOSCRIPT, keys with the client's keyPrefix. */
interface IdempotencyCommands {
  releaseIdempotencyKeyScript(key: string, owner: string): Promise<number>;
  takeOverIdempotencyKeyScript(key: string, abandoned: string, owner: string, ttlSeconds: number): Promise<number>;
}

/** Defines the commands on this client the first time (definitions are per client); no I/O. */
function withIdempotencyCommands(redis: Redis): Redis & IdempotencyCommands {
  const client = redis as Redis & Partial<IdempotencyCommands>;
  if (!client.releaseIdempotencyKeyScript) {
    redis.defineCommand('releaseIdempotencyKeyScript', { numberOfKeys: 1, lua: RELEASE_LUA });
    redis.defineCommand('takeOverIdempotencyKeyScript', { numberOfKeys: 1, lua: TAKE_OVER_LUA });
  }
  return client as Redis & IdempotencyCommands;
}

/** Frees the key after the request failed before commit, so the caller can retry. */
export async function releaseIdempotencyKey(redis: Redis, idempotencyKey: string, notificationId: string): Promise<void> {
  await withIdempotencyCommands(redis).releaseIdempotencyKeyScript(key(idempotencyKey), notificationId);
}

/** Points the key at the notification Postgres says owns it (after Redis lost it). */
export async function rememberIdempotencyKey(redis: Redis, idempotencyKey: string, notificationId: string, ttlSeconds: number): Promise<void> {
  await redis.set(key(idempotencyKey), notificationId, 'EX', ttlSeconds);
}

/** Moves a key from an abandoned claimer to this request; false if someone else got there first. */
export async function takeOverIdempotencyKey(
  redis: Redis,
  idempotencyKey: string,
  abandonedId: string,
  notificationId: string,
  ttlSeconds: number,
): Promise<boolean> {
  const moved = await withIdempotencyCommands(redis).takeOverIdempotencyKeyScript(key(idempotencyKey), abandonedId, notificationId, ttlSeconds);
  return moved === 1;
}

/** Milliseconds since the epoch encoded in a UUIDv7 (its first 48 bits); NaN for other values. */
export function uuidV7Time(id: string): number {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7/i.test(id)) return Number.NaN;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
