import type { Redis } from 'ioredis';

/** Scopes of the admin API; each has its own budget per caller IP. */
export const SCOPES = ['dlq.read', 'dlq.write', 'dlq.bulk', 'suppressions.read', 'suppressions.write'] as const;
export type Scope = (typeof SCOPES)[number];

// One round trip, atomic: count this request in the current window and report the window's
// remaining time. The window starts with the first request (fixed window per key).
const SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

/** The script as a command of the client: EVALSHA, EVAL after NOSCRIPT, the key with the client's keyPrefix. */
interface RateLimitCommands {
  adminRateLimitScript(key: string, windowMs: number): Promise<[count: number, ttlMs: number]>;
}

/** Defines the command on this client the first time (definitions are per client); no I/O. */
function withRateLimitCommand(redis: Redis): Redis & RateLimitCommands {
  const client = redis as Redis & Partial<RateLimitCommands>;
  if (!client.adminRateLimitScript) redis.defineCommand('adminRateLimitScript', { numberOfKeys: 1, lua: SCRIPT });
  return client as Redis & RateLimitCommands;
}

export interface RateDecision {
  allowed: boolean;
  /** Milliseconds until the window resets (meaningful when denied). */
  retryAfterMs: number;
}

/** Per caller IP × scope request budget, kept in Redis so every replica shares it. */
export class AdminRateLimiter {
  private readonly redis: Redis & RateLimitCommands;
  private readonly limit: number;
  private readonly windowMs: number;

  constructor(redis: Redis, options: { limit: number; windowMs?: number }) {
    this.redis = withRateLimitCommand(redis);
    this.limit = options.limit;
    this.windowMs = options.windowMs ?? 60_000;
  }

  async take(scope: Scope, ip: string): Promise<RateDecision> {
    const [count, ttl] = await this.redis.adminRateLimitScript(`admin:rl:${scope}:${ip}`, this.windowMs);
    return { allowed: count <= this.limit, retryAfterMs: Math.max(ttl, 1) };
  }
}
