import { z } from 'zod';
import { commonEnv, idempotencyEnv, port, positiveInt, redisEnv, topicNamespace } from '@hub/config';
import { LOCALE_PATTERN } from '@hub/domain';

const optionalSecret = z
  .string()
  .optional()
  // An empty value is "not configured": that vendor's callbacks are refused (fail closed).
  .transform((v) => (v && v.length > 0 ? v : undefined));

const optionalText = z
  .string()
  .optional()
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
  // How long a request's pending claim of its Idempotency-Key lives in Redis: longer than any
  // request takes. A request that dies before it commits (SIGKILL) blocks its key this long at
  // most; a retry meanwhile gets 409 REQUEST_IN_PROGRESS with Retry-After.
  IDEMPOTENCY_CLAIM_TTL_MS: positiveInt(10_000),
  // How long a request whose key another request holds waits for that one's outcome before it
  // answers 409 REQUEST_IN_PROGRESS (SPEC §3: up to 2 s).
  IDEMPOTENCY_WAIT_MS: positiveInt(2_000),
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
  // The scheme, host (and port) vendors reach this API at, e.g. https://hub.example.com. Twilio
  // signs the exact callback URL it called, which a proxy or load balancer in front hides from
  // the request, so the URL is rebuilt from this (the dispatchers put the same base into
  // StatusCallback). Unset = Twilio status callbacks are refused.
  PUBLIC_BASE_URL: optionalUrl,
  // The Twilio account's primary auth token (the variable name dispatcher-sms uses): Twilio signs
  // status callbacks with it (X-Twilio-Signature), even for messages sent with an API key. Unset =
  // Twilio status callbacks are refused.
  TWILIO_AUTH_TOKEN: optionalSecret,
  // Comma-separated SNS topic ARNs whose messages are accepted on the SES events endpoint (the
  // topics of the SES configuration set's event destinations). A validly signed message of any
  // other topic is anyone's AWS account, so it is refused. Unset = the endpoint refuses all.
  SES_SNS_TOPIC_ARNS: z
    .string()
    .optional()
    .transform((v) => (v ?? '').split(',').map((arn) => arn.trim()).filter((arn) => arn.length > 0))
    .refine((arns) => arns.every((arn) => /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/.test(arn)), {
      message: 'must be a comma-separated list of SNS topic ARNs (arn:aws:sns:<region>:<account>:<topic>)',
    }),
  // An SNS message whose Timestamp is older than this is refused (its MessageId is remembered
  // for twice this long, so a captured message cannot be replayed while it would pass). Longer
  // than the subscription's delivery retry policy lasts (SNS default: about 20 s).
  SNS_MAX_AGE_MS: positiveInt(3_600_000),
  // HMAC-SHA256 key of the one-click unsubscribe links in MARKETING mail (the same value as
  // dispatcher-email's). Unset = POST/GET /unsubscribe/{token} answer 401: no link can be checked.
  UNSUBSCRIBE_SIGNING_SECRET: z
    .string()
    .optional()
    .transform((v) => (v && v.length > 0 ? v : undefined))
    .refine((v) => v === undefined || v.length >= 32, { message: 'must be at least 32 characters' }),
  // How long an unsubscribe link works, in days from the day the mail was sent. Long: people
  // unsubscribe from old mail too, and a link that fails them ends as a spam complaint.
  UNSUBSCRIBE_LINK_MAX_AGE_DAYS: positiveInt(365),
  // When set, every route of the public API (/notifications, /templates, /recipients, /devices,
  // /users/*/preferences) requires a Bearer JWT verified against this JWKS, and callers see only
  // their own data (ADR 0021). Vendor receipts (signed on their own), /healthz, /readyz,
  // /metrics, /openapi.json and /docs stay open. Unset = no caller authentication, no scoping.
  INGEST_JWKS_URL: optionalUrl,
  // The `iss` every token must carry. An issuer signs tokens for every API registered with it,
  // so an issuer requires INGEST_JWT_AUDIENCE too: without one, a token minted for another API
  // of the same identity provider would be accepted here.
  INGEST_JWT_ISSUER: optionalText,
  // The `aud` every token must carry: this API's identifier at the identity provider.
  INGEST_JWT_AUDIENCE: optionalText,
  // How long fetching the JWKS may take before the request is answered 503 UNAVAILABLE. Keys are
  // cached (10 min), so only a cold start, a key rotation or a refresh waits on it.
  INGEST_JWKS_TIMEOUT_MS: positiveInt(5_000),
}).superRefine((config, ctx) => {
  if (config.INGEST_JWT_ISSUER !== undefined && config.INGEST_JWT_AUDIENCE === undefined) {
    ctx.addIssue({ code: 'custom', path: ['INGEST_JWT_AUDIENCE'], message: 'required when INGEST_JWT_ISSUER is set (else tokens of any API of that issuer are accepted)' });
  }
  // Claims to check without keys to check them with would look like authentication and be none.
  if (config.INGEST_JWKS_URL === undefined && (config.INGEST_JWT_ISSUER !== undefined || config.INGEST_JWT_AUDIENCE !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['INGEST_JWKS_URL'], message: 'required when INGEST_JWT_ISSUER or INGEST_JWT_AUDIENCE is set' });
  }
});

export type IngestConfig = z.infer<typeof ingestConfigSchema>;
