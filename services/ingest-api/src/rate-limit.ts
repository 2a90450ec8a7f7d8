import type { Redis } from 'ioredis';
import type { Channel } from '@hub/domain';

/**
 * Sliding-window log per recipient × channel, all-or-nothing across the keys of one request:
 * every key is checked first, and only if all have room is the request recorded in all of
 * them. Denied → `{index (1-based) of the key with the LONGEST wait, ms until that key has
 * room}`, so Retry-After is when the whole request may pass, not just its first denial; nothing
 * is recorded. One script = atomic: concurrent requests cannot both take the last slot. ARGV:
 * now (ms), window (ms), member, then one limit per key.
 */
const RATE_LIMIT_LUA = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local member = ARGV[3]
local denied, longest = 0, 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local retry = window
    if oldest[2] then retry = tonumber(oldest[2]) + window - now end
    if retry < 1 then retry = 1 end
    if retry > longest then denied, longest = i, retry end
  end
end
if denied > 0 then return {denied, longest} end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, window)
end
return {0, 0}
`;

/**
 * The script as a command of the client (EVALSHA, EVAL after NOSCRIPT, keys with the client's
 * keyPrefix). The number of keys varies per request, so it comes first, as with EVAL.
 */
interface RateLimitCommands {
  rateLimitScript(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<[index: number, retryAfterMs: number]>;
}

/**
 * Defines the command on this client (definitions are per client; no I/O). createApp calls it
 * before the first request: with auto-pipelining, a pipeline opened before the definition lacks
 * the command, and ioredis then throws outside any promise (the process dies).
 */
export function withRateLimitCommand(redis: Redis): Redis & RateLimitCommands {
  const client = redis as Redis & Partial<RateLimitCommands>;
  if (!client.rateLimitScript) redis.defineCommand('rateLimitScript', { lua: RATE_LIMIT_LUA });
  return client as Redis & RateLimitCommands;
}

export type RateLimitResult = { allowed: true } | { allowed: false; channel: Channel; retryAfterMs: number };

/**
 * One key per recipient × channel. The recipient is the key's hash tag (`{…}`): every key of one
 * request lands in the same Redis Cluster slot, as a multi-key script needs (no CROSSSLOT).
 */
export const rateLimitKey = (recipientId: string, channel: Channel) => `rl:{${recipientId}}:${channel}`;

export async function consumeRateLimit(
  redis: Redis,
  input: { recipientId: string; channels: Channel[]; limits: Record<Channel, number>; windowMs: number; now: Date; member: string },
): Promise<RateLimitResult> {
  if (input.channels.length === 0) return { allowed: true };
  const [index, retry] = await withRateLimitCommand(redis).rateLimitScript(
    input.channels.length,
    ...input.channels.map((c) => rateLimitKey(input.recipientId, c)),
    input.now.getTime(),
    input.windowMs,
    input.member,
    ...input.channels.map((c) => input.limits[c]),
  );
  if (index === 0) return { allowed: true };
  return { allowed: false, channel: input.channels[index - 1]!, retryAfterMs: retry };
}

/** Gives back what `consumeRateLimit` took, when the request then fails before commit. */
export async function refundRateLimit(redis: Redis, input: { recipientId: string; channels: Channel[]; member: string }): Promise<void> {
  if (input.channels.length === 0) return;
  const pipeline = redis.multi();
  for (const channel of input.channels) pipeline.zrem(rateLimitKey(input.recipientId, channel), input.member);
  await pipeline.exec();
}
