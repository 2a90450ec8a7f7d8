import type { Redis } from 'ioredis';

// Deletes the key only while it still holds the value its owner wrote: after a claim expired,
// another request may have claimed the key, and must keep it.
const COMPARE_AND_DELETE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** The script as a command of the client: EVALSHA, EVAL after NOSCRIPT, the key with the client's keyPrefix. */
interface CompareAndDeleteCommand {
  compareAndDelete(key: string, owner: string): Promise<number>;
}

/**
 * Defines the command on this client (definitions are per client; no I/O). createApp calls it
 * before the first request: with auto-pipelining, a pipeline opened before the definition lacks
 * the command, and ioredis then throws outside any promise (the process dies).
 */
export function withCompareAndDelete(redis: Redis): Redis & CompareAndDeleteCommand {
  const client = redis as Redis & Partial<CompareAndDeleteCommand>;
  if (!client.compareAndDelete) redis.defineCommand('compareAndDelete', { numberOfKeys: 1, lua: COMPARE_AND_DELETE_LUA });
  return client as Redis & CompareAndDeleteCommand;
}

/** Deletes `key` if it still holds `owner`; true when it did. The release of a claim (idempotency, receipts). */
export async function compareAndDelete(redis: Redis, key: string, owner: string): Promise<boolean> {
  return (await withCompareAndDelete(redis).compareAndDelete(key, owner)) === 1;
}
