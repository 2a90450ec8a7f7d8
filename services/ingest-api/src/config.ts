import { z } from 'zod';
import { commonEnv, idempotencyEnv, port, positiveInt, redisEnv, topicNamespace } from '@hub/config';
import { LOCALE_PATTERN } from '@hub/domain';

const optionalSecret = z
  .string()
  .optional()
  // An empty value is "not configured": that vendor's callbacks are refused (fail closed).
  .transform((v) => (v && v.length > 0 ? v : undefined));

const optionalUrl = z
  .string()
  .optional()
  .transform((v) => (v && v.length > 0 ? v : undefined))
  .refine((v) => v === undefined || /^https?:\/\//.test(v), { message: 'must be an http(s) URL' });

export const ingestConfigSchema = z.object({
  ...commonEnv,
  ...redisEnv,
  PORT: port(8080),
  // Interface to bind: all by default (containers); 127.0.0.1 keeps a local run or a benchmark
  // off the network.
  HOST: z.string().min(1).default('0.0.0.0'),
  // Ingest never talks to Kafka (it writes the outbox), but the outbox rows name topics.
  KAFKA_TOPIC_NAMESPACE: topicNamespace,
  // Requests allowed per recipient × channel per window (SPEC §3 defaults). A benchmark or a
  // bulk sender raises them; SMS and Kakao are low because each message costs money.
  RATE_LIMIT_PUSH: positiveInt(30),
  RATE_LIMIT_EMAIL: positiveInt(30),
  RATE_LIMIT_SMS: positiveInt(5),
  RATE_LIMIT_KAKAO_ALIMTALK: positiveInt(5),
  // Sliding window the limits above count over.
  RATE_LIMIT_WINDOW_MS: positiveInt(60_000),
  ...idempotencyEnv,
  // Locale tried when a template does not exist in the recipient's locale.
  DEFAULT_LOCALE: z
    .string()
    .default('ko-kr')
    .transform((v) => v.trim().toLowerCase())
    .refine((v) => LOCALE_PATTERN.test(v), { message: 'must look like ko-kr or en' }),
  // Group commit of accepted notifications: at most this many transactions write at once, and
  // requests arriving meanwhile share the next one (up to WRITE_BATCH_MAX notifications). Keep
  // WRITE_CONCURRENCY below DATABASE_POOL_MAX so reads still find a connection. A batch max
  // of 1 means one transaction per request. 2 measured best on a 2-core box (bench/ingest):
  // fewer, fuller commits beat more, emptier ones.
  WRITE_CONCURRENCY: positiveInt(2),
  WRITE_BATCH_MAX: positiveInt(64),
  // Request body limit; larger bodies are answered 413 before they are parsed.
  BODY_LIMIT_BYTES: positiveInt(1_048_576),
  // Per-vendor HMAC secrets of delivery receipts. Unset = that vendor's callbacks are refused.
  WEBHOOK_SECRET_FCM: optionalSecret,
  WEBHOOK_SECRET_SES: optionalSecret,
  WEBHOOK_SECRET_TWILIO: optionalSecret,
  WEBHOOK_SECRET_KAKAO: optionalSecret,
  // Accepted clock skew of a callback's timestamp, and how long a signature is remembered to
  // reject replays (SPEC §3: 300 000 ms).
  WEBHOOK_TOLERANCE_MS: positiveInt(300_000),
  // When set, /notifications, /templates and /recipients require a Bearer JWT verified against
  // this JWKS (keys are fetched and cached by jose). Unset = no caller authentication.
  INGEST_JWKS_URL: optionalUrl,
  // Optional claims the JWT must carry when INGEST_JWKS_URL is set.
  INGEST_JWT_ISSUER: z.string().optional(),
  INGEST_JWT_AUDIENCE: z.string().optional(),
});

export type IngestConfig = z.infer<typeof ingestConfigSchema>;
