import { readFileSync } from 'node:fs';
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

/**
 * OpenTelemetry tracing (ADR 0024), read by every service. The names are OpenTelemetry's own, so
 * a collector's usual settings apply unchanged.
 */
export const tracingEnv = {
  // OTLP/HTTP base URL of a collector (http/protobuf; spans go to <url>/v1/traces). Unset or
  // empty: tracing is off and the tracing SDK is not even loaded.
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .optional()
    .transform((v) => (v && v.length > 0 ? v : undefined))
    .pipe(urlWithScheme(['http', 'https']).optional()),
  // Headers of every export request, `key=value` pairs separated by commas (a vendor's API key);
  // a secret: give it from the Secret, not the ConfigMap.
  OTEL_EXPORTER_OTLP_HEADERS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (!v) return undefined;
      const headers: Record<string, string> = {};
      for (const pair of v.split(',')) {
        const at = pair.indexOf('=');
        const name = at > 0 ? pair.slice(0, at).trim() : '';
        if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
          ctx.addIssue({ code: 'custom', message: 'must be key=value pairs separated by commas' });
          return z.NEVER;
        }
        try {
          headers[name] = decodeURIComponent(pair.slice(at + 1).trim());
        } catch {
          ctx.addIssue({ code: 'custom', message: `the value of ${name} is not URL-encoded text` });
          return z.NEVER;
        }
      }
      return headers;
    }),
  // Share of new traces recorded (0…1). A request that arrives with a traceparent follows its
  // caller's sampling decision instead, so a trace is never cut in half.
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
};

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
  ...tracingEnv,
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

/** Unset or empty (a ConfigMap key left blank) means "not given". */
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

/** A path to a readable PEM file, checked at start so a wrong mount fails with its variable's name. */
const optionalPemFile = optionalString.refine(
  (file) => {
    if (file === undefined) return true;
    try {
      return readFileSync(file, 'utf8').includes('-----BEGIN ');
    } catch {
      return false;
    }
  },
  { message: 'must be the path of a readable PEM file' },
);

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
  // TLS to the brokers. Managed clusters (MSK, Confluent Cloud) only listen on TLS; the local
  // broker and compose speak plaintext, hence off by default.
  KAFKA_SSL: booleanFlag(false),
  // PEM bundle of the CA(s) that signed the brokers' certificates, for a private CA. Unset: the
  // CAs Node ships with, which already trust MSK's and Confluent Cloud's certificates.
  KAFKA_SSL_CA_FILE: optionalPemFile,
  // false accepts any broker certificate, so anyone on the path can read and forge every
  // record: for a throwaway test cluster only. On by default and checked against the CA above.
  KAFKA_SSL_REJECT_UNAUTHORIZED: booleanFlag(true),
  // Mutual TLS: the client certificate (chain) and its private key, both PEM, both or neither.
  KAFKA_SSL_CERT_FILE: optionalPemFile,
  KAFKA_SSL_KEY_FILE: optionalPemFile,
  // SASL authentication: plain (Confluent Cloud API keys), scram-sha-256 or scram-sha-512
  // (MSK SCRAM). Unset: no authentication. PLAIN sends the password as is: TLS is required.
  KAFKA_SASL_MECHANISM: optionalString.pipe(z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional()),
  // The SASL user and password (put the password in a Secret); required with a mechanism.
  KAFKA_SASL_USERNAME: optionalString,
  KAFKA_SASL_PASSWORD: optionalString,
};

type KafkaEnv = z.infer<z.ZodObject<typeof kafkaEnv>>;

/**
 * The rules between the Kafka variables, for a schema that spreads `kafkaEnv`:
 * `z.object({ ...kafkaEnv, ... }).superRefine(checkKafkaEnv)`. A half-given setting is refused
 * at start instead of connecting without the protection the operator meant to turn on.
 */
export function checkKafkaEnv(config: KafkaEnv, ctx: z.RefinementCtx): void {
  const issue = (variable: keyof KafkaEnv, message: string) => ctx.addIssue({ code: 'custom', path: [variable], message });
  if (!config.KAFKA_SSL) {
    for (const variable of ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const) {
      if (config[variable]) issue(variable, 'given while KAFKA_SSL is false: set KAFKA_SSL=true');
    }
    if (!config.KAFKA_SSL_REJECT_UNAUTHORIZED) issue('KAFKA_SSL_REJECT_UNAUTHORIZED', 'given while KAFKA_SSL is false: set KAFKA_SSL=true');
  }
  if (Boolean(config.KAFKA_SSL_CERT_FILE) !== Boolean(config.KAFKA_SSL_KEY_FILE)) {
    issue(config.KAFKA_SSL_CERT_FILE ? 'KAFKA_SSL_KEY_FILE' : 'KAFKA_SSL_CERT_FILE', 'mutual TLS needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE');
  }
  if (config.KAFKA_SASL_MECHANISM) {
    if (!config.KAFKA_SASL_USERNAME) issue('KAFKA_SASL_USERNAME', `required with KAFKA_SASL_MECHANISM=${config.KAFKA_SASL_MECHANISM}`);
    if (!config.KAFKA_SASL_PASSWORD) issue('KAFKA_SASL_PASSWORD', `required with KAFKA_SASL_MECHANISM=${config.KAFKA_SASL_MECHANISM}`);
    if (config.KAFKA_SASL_MECHANISM === 'plain' && !config.KAFKA_SSL) {
      issue('KAFKA_SASL_MECHANISM', 'plain sends the password in clear text: set KAFKA_SSL=true');
    }
  } else {
    for (const variable of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
      if (config[variable]) issue(variable, 'given without KAFKA_SASL_MECHANISM: set the mechanism too');
    }
  }
}

/** The Kafka variables on their own, with their rules (CLIs, the init container). */
export const kafkaEnvSchema = z.object(kafkaEnv).superRefine(checkKafkaEnv);

/** How to reach and authenticate to the brokers, in the terms of kafkajs's `ssl` and `sasl` options. */
export interface KafkaConnection {
  brokers: string[];
  /** Undefined: plaintext. */
  ssl?: { rejectUnauthorized: boolean; ca?: string; cert?: string; key?: string };
  /** Undefined: no authentication. */
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

/**
 * The connection settings of a parsed Kafka config; reads the PEM files (once, at start: a
 * rotated certificate takes a restart, as a rolled Secret does under Kubernetes).
 */
export function kafkaConnection(config: KafkaEnv): KafkaConnection {
  const read = (file: string | undefined) => (file === undefined ? undefined : readFileSync(file, 'utf8'));
  return {
    brokers: config.KAFKA_BROKERS,
    ssl: config.KAFKA_SSL
      ? {
          rejectUnauthorized: config.KAFKA_SSL_REJECT_UNAUTHORIZED,
          ...(config.KAFKA_SSL_CA_FILE ? { ca: read(config.KAFKA_SSL_CA_FILE) } : {}),
          ...(config.KAFKA_SSL_CERT_FILE ? { cert: read(config.KAFKA_SSL_CERT_FILE), key: read(config.KAFKA_SSL_KEY_FILE) } : {}),
        }
      : undefined,
    sasl:
      config.KAFKA_SASL_MECHANISM && config.KAFKA_SASL_USERNAME && config.KAFKA_SASL_PASSWORD
        ? { mechanism: config.KAFKA_SASL_MECHANISM, username: config.KAFKA_SASL_USERNAME, password: config.KAFKA_SASL_PASSWORD }
        : undefined,
  };
}

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
