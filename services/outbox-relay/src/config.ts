import { z } from 'zod';
import { checkKafkaEnv, commonEnv, idempotencyEnv, kafkaEnv, port, positiveInt } from '@hub/config';
import { backoffEnv } from '@hub/attempts';

export const relayConfigSchema = z.object({
  ...commonEnv,
  ...kafkaEnv,
  ...backoffEnv,
  PORT: port(9101),
  // Outbox rows claimed and published per transaction. Bigger batches publish faster but hold
  // their row locks (and a Kafka round trip) longer.
  RELAY_BATCH_SIZE: positiveInt(500),
  // Publish loops per process; SKIP LOCKED lets them (and other replicas) share the outbox
  // without ever claiming the same row. Only the first polls; the others wake on NOTIFY, on a
  // full batch (a backlog) and on stop.
  RELAY_PUBLISHERS: positiveInt(2),
  // Fallback poll when no NOTIFY arrives (a notification lost on reconnect, a deferred row
  // becoming due): the worst-case publish delay. Only delivery rows send NOTIFY (migration
  // 0006); other events go with the next round, at most this long when no deliveries flow.
  RELAY_POLL_INTERVAL_MS: positiveInt(1_000),
  // After a NOTIFY, how long a publisher waits before it claims, so the commits of that moment
  // go in one claim transaction and one produce request instead of one each: under a steady
  // trickle of sends most of the relay's, Postgres's and the broker's work per delivery. Adds
  // at most this much to a delivery's latency. 0 claims at once. 100 ms, not 10: ADR 0032.
  RELAY_LINGER_MS: z.coerce.number().int().min(0).max(1_000).default(100),
  // How often due retries are re-driven and expired dispatch leases recovered.
  RELAY_MAINTENANCE_INTERVAL_MS: positiveInt(1_000),
  // The lost-record sweep (SPEC §4): every INTERVAL, PENDING attempts whose delivery request was
  // published more than AFTER ago and never claimed are published again. Lower AFTER finds a lost
  // record sooner; but a consumer backlog older than AFTER (dispatchers down) is then published
  // a second time too (harmless: the claim is conditional, the copy does nothing).
  RELAY_SWEEP_INTERVAL_MS: positiveInt(30_000),
  RELAY_SWEEP_AFTER_MS: positiveInt(120_000),
  // Attempts re-driven or recovered per maintenance transaction.
  RELAY_MAINTENANCE_BATCH_SIZE: positiveInt(500),
  // Published outbox rows are kept this long (for inspection and replay), then deleted.
  OUTBOX_RETENTION_HOURS: positiveInt(72),
  ...idempotencyEnv,
  // How often published rows and expired idempotency keys (IDEMPOTENCY_TTL_SECONDS) are deleted.
  RELAY_HOUSEKEEPING_INTERVAL_MS: positiveInt(60_000),
}).superRefine(checkKafkaEnv);

export type RelayConfig = z.infer<typeof relayConfigSchema>;
