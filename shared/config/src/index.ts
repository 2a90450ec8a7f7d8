import { z } from 'zod';

/**
 * Raised when the environment does not satisfy a service's schema. The message names every
 * offending variable so an operator can fix the deployment without reading code.
 */
export class ConfigError extends Error {
  readonly variables: string[];
  constructor(issues: { variable: string; message: string }[]) {
    super(
      `invalid environment: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`,
    );
    this.name = 'ConfigError';
    this.variables = issues.map((i) => i.variable);
  }
}

/** Validates `env` (normally `process.env`, passed in by main.ts) against a zod object schema. */
export function parseEnv<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined>,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? '(env)'),
      message: issue.message,
    })),
  );
}

/** A TCP port given as a string. */
export const port = (fallback: number) =>
  z.coerce.number().int().min(1).max(65_535).default(fallback);

/** A positive integer given as a string. */
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** "true"/"false"/"1"/"0" as a boolean; anything else is rejected instead of silently false. */
export const booleanFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');

const urlWithScheme = (schemes: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return schemes.includes(new URL(v).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    { message: `must be a URL with scheme ${schemes.join(' or ')}` },
  );

/** Variables every service reads (SPEC §1). */
export const commonEnv = {
  // Postgres holds every piece of state; the only source of truth.
  DATABASE_URL: urlWithScheme(['postgres', 'postgresql']),
  // Pool size per process; keep (replicas × pool) under the server's max_connections.
  DATABASE_POOL_MAX: positiveInt(10),
  // Lowest level written. info logs every failed or retried delivery; debug adds a line per
  // success ("delivery dispatched", after its outcome committed: bench:delivery times it).
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // JSON lines for log shippers; `pretty` only for a terminal.
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  // How long SIGTERM may take to drain in-flight work before the process exits anyway.
  SHUTDOWN_TIMEOUT_MS: positiveInt(25_000),
  // HTTP APIs: after SIGTERM, /readyz fails at once but requests are still served this long, as
  // usual, before the listener closes, so requests already on their way are answered, not reset.
  // Under Kubernetes the preStop sleep plays this part.
  SHUTDOWN_DRAIN_DELAY_MS: z.coerce.number().int().min(0).default(1_000),
};

/** How long an Idempotency-Key blocks a repeat by default (SPEC §3: 24 h). */
export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 86_400;

/** The idempotency window: ingest-api enforces it, outbox-relay's housekeeping ends it. */
export const idempotencyEnv = {
  // How long an Idempotency-Key blocks a repeat. The Postgres row is the guarantee; outbox-relay
  // housekeeping deletes rows older than this, so give both services the same value.
  IDEMPOTENCY_TTL_SECONDS: positiveInt(DEFAULT_IDEMPOTENCY_TTL_SECONDS),
};

/** Redis: idempotency fast path, rate limits, replay protection. */
export const redisEnv = {
  REDIS_URL: urlWithScheme(['redis', 'rediss']),
  // Prefix for every key this deployment writes, so several hubs can share one Redis.
  REDIS_KEY_PREFIX: z.string().max(64).default('nh:'),
};

/** Redis where a service needs it only for some settings (the dispatchers' shared send-rate cap). */
export const optionalRedisEnv = {
  REDIS_URL: urlWithScheme(['redis', 'rediss']).optional(),
  REDIS_KEY_PREFIX: redisEnv.REDIS_KEY_PREFIX,
};

/** Prefix of every topic and consumer group; lets several environments share one cluster (tests use it). */
export const topicNamespace = z
  .string()
  .regex(/^[a-z0-9_-]*$/, 'lowercase letters, digits, _ and - only')
  .default('');

/** Kafka: the delivery topics and the event stream. */
export const kafkaEnv = {
  KAFKA_BROKERS: z
    .string()
    .min(1)
    .transform((v) => v.split(',').map((b) => b.trim()).filter(Boolean))
    .refine((list) => list.length > 0 && list.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)), {
      message: 'must be a comma list of host:port',
    }),
  KAFKA_TOPIC_NAMESPACE: topicNamespace,
};

/**
 * For main.ts: parse the environment or stop the process with a message naming the variables
 * (exit code 78, EX_CONFIG), before any client is created.
 */
export function loadConfigOrExit<S extends z.ZodObject>(
  schema: S,
  proc: { env: Record<string, string | undefined>; exit: (code: number) => never },
  service: string,
): z.infer<S> {
  try {
    return parseEnv(schema, proc.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(JSON.stringify({ level: 'fatal', service, msg: 'invalid configuration', error: err.message }));
    return proc.exit(78);
  }
}
