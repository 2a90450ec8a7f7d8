import { z } from 'zod';
import { commonEnv, port, positiveInt, redisEnv, topicNamespace } from '@hub/config';

export const adminConfigSchema = z.object({
  ...commonEnv,
  ...redisEnv,
  PORT: port(8081),
  // Replays write outbox rows, which name topics; the relay publishes them.
  KAFKA_TOPIC_NAMESPACE: topicNamespace,
  // The shared secret operators send as X-Admin-Token. Unset (or empty) means every request is
  // denied (safe default); a short token is refused at start because it could be guessed.
  ADMIN_AUTH_TOKEN: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().min(12, 'must be at least 12 characters').optional(),
  ),
  // Name written to the audit trail; default "admin:" + the first 8 hex of sha256(token), so
  // the trail is stable across restarts without ever containing the token.
  ADMIN_ACTOR: z.string().trim().min(1).max(128).optional(),
  // Requests per minute per caller IP and scope (dlq.read, dlq.write, dlq.bulk, suppressions.read,
  // suppressions.write); checked before the token so guessing it is throttled too.
  ADMIN_RATE_LIMIT_PER_MINUTE: positiveInt(60),
  // How many reverse proxies in front of admin-api append to X-Forwarded-For. 0: the socket
  // address is the client (a client-sent X-Forwarded-For is ignored, so it cannot dodge the limit).
  TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  // Bulk jobs: attempts per page (the lease is renewed and progress saved after each page),
  // item transactions in flight at once (each holds a pooled connection for a few ms: keep it
  // below DATABASE_POOL_MAX so requests still get one), and how long a replica owns a job
  // without renewing before another replica takes it over.
  BULK_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(200),
  BULK_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(8),
  BULK_LEASE_MS: z.coerce.number().int().min(1000).default(30_000),
  // How often an idle replica looks for a job to claim: one created on another replica, or one
  // whose owner died (its lease, BULK_LEASE_MS, runs out first). A job created on this replica
  // wakes its runner at once. Each look is a statement, so an idle admin-api pays for it.
  BULK_POLL_INTERVAL_MS: z.coerce.number().int().min(10).default(5_000),
});

export type AdminConfig = z.infer<typeof adminConfigSchema>;
