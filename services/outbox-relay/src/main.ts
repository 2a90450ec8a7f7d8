import { kafkaConnection, loadConfigOrExit } from '@hub/config';
import { createDb, pingDb } from '@hub/db';
import { listen, opsApp } from '@hub/http';
import { createKafka, createProducer, createTopics, pingKafka } from '@hub/messaging';
import { createServiceRuntime, startTracing } from '@hub/observability';
import { relayConfigSchema } from './config.ts';
import { OutboxRelay } from './relay.ts';

const config = loadConfigOrExit(relayConfigSchema, process, 'outbox-relay');
// First, so every span of the process goes to the tracer provider (when tracing is on).
const stopTracing = await startTracing({ serviceName: 'outbox-relay', env: config });
const runtime = createServiceRuntime('outbox-relay', config, (code) => process.exit(code));
const { logger, readiness, shutdown } = runtime;
// Registered first, so it runs last: the spans of the last requests are exported too.
shutdown.register('flush traces', stopTracing);

const database = createDb({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, applicationName: 'outbox-relay' });
const kafka = createKafka({ ...kafkaConnection(config), clientId: 'outbox-relay', logger });
const admin = kafka.admin();
const producer = createProducer(kafka);
shutdown.register('close postgres', () => database.close());
shutdown.register('disconnect kafka', async () => {
  await producer.disconnect();
  await admin.disconnect();
});
await Promise.all([admin.connect(), producer.connect()]);

const relay = new OutboxRelay(
  {
    db: database.db,
    sql: database.sql,
    producer,
    topics: createTopics(config.KAFKA_TOPIC_NAMESPACE),
    logger,
    registry: runtime.registry,
  },
  {
    batchSize: config.RELAY_BATCH_SIZE,
    publishers: config.RELAY_PUBLISHERS,
    pollIntervalMs: config.RELAY_POLL_INTERVAL_MS,
    lingerMs: config.RELAY_LINGER_MS,
    maintenanceIntervalMs: config.RELAY_MAINTENANCE_INTERVAL_MS,
    maintenanceBatchSize: config.RELAY_MAINTENANCE_BATCH_SIZE,
    housekeepingIntervalMs: config.RELAY_HOUSEKEEPING_INTERVAL_MS,
    retentionMs: config.OUTBOX_RETENTION_HOURS * 60 * 60 * 1_000,
    idempotencyTtlMs: config.IDEMPOTENCY_TTL_SECONDS * 1_000,
    sweepIntervalMs: config.RELAY_SWEEP_INTERVAL_MS,
    sweepAfterMs: config.RELAY_SWEEP_AFTER_MS,
    backoff: { baseMs: config.RETRY_BACKOFF_BASE_MS, maxMs: config.RETRY_BACKOFF_MAX_MS },
    // Leaves half of the shutdown deadline to close the clients.
    stopTimeoutMs: Math.floor(config.SHUTDOWN_TIMEOUT_MS / 2),
  },
);
// Stops before the clients close (steps run last-registered first): the batch in flight
// is published and marked, or rolled back, never cut in half.
shutdown.register('stop relay', () => relay.stop());
readiness
  .add({ name: 'postgres', check: () => pingDb(database) })
  .add({ name: 'kafka', check: () => pingKafka(admin) });

const server = await listen(opsApp(runtime), config.PORT);
shutdown.register('stop http', async () => {
  readiness.markShuttingDown();
  await server.close();
});
shutdown.listen(process);
await relay.start();
logger.info({ port: server.port }, 'outbox-relay listening');
