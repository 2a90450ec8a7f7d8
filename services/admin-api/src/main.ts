import { Redis } from 'ioredis';
import { loadConfigOrExit } from '@hub/config';
import { createDb, pingDb } from '@hub/db';
import { InFlightRequests, listen } from '@hub/http';
import { createTopics } from '@hub/messaging';
import { createServiceRuntime, startTracing } from '@hub/observability';
import { actorOf } from './access/token.ts';
import { createApp } from './app.ts';
import { adminConfigSchema } from './config.ts';
import { BulkJobRunner } from './jobs/bulk-job-runner.ts';
import { createAdminMetrics } from './metrics.ts';

const config = loadConfigOrExit(adminConfigSchema, process, 'admin-api');
// First, so every span of the process goes to the tracer provider (when tracing is on).
const stopTracing = await startTracing({ serviceName: 'admin-api', env: config });
const runtime = createServiceRuntime('admin-api', config, (code) => process.exit(code));
const { logger, readiness, shutdown } = runtime;
// Registered first, so it runs last: the spans of the last requests are exported too.
shutdown.register('flush traces', stopTracing);
if (!config.ADMIN_AUTH_TOKEN) logger.warn('ADMIN_AUTH_TOKEN is not set: every admin request will be denied');

const database = createDb({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, applicationName: 'admin-api' });
// Auto-pipelining, as in ingest-api: commands issued in the same event-loop turn go out in one write.
const redis = new Redis(config.REDIS_URL, { keyPrefix: config.REDIS_KEY_PREFIX, maxRetriesPerRequest: 1, enableAutoPipelining: true });
redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
readiness
  .add({ name: 'postgres', check: () => pingDb(database) })
  .add({ name: 'redis', check: async () => void (await redis.ping()) });

shutdown.register('close postgres', () => database.close());
shutdown.register('close redis', async () => void (await redis.quit()));

const inFlight = new InFlightRequests();
const deps = {
  ...runtime,
  db: database.db,
  redis,
  clock: () => new Date(),
  topics: createTopics(config.KAFKA_TOPIC_NAMESPACE),
  metrics: createAdminMetrics(runtime.registry),
  access: {
    token: config.ADMIN_AUTH_TOKEN,
    actor: actorOf(config.ADMIN_AUTH_TOKEN, config.ADMIN_ACTOR),
    rateLimitPerMinute: config.ADMIN_RATE_LIMIT_PER_MINUTE,
    trustedProxyHops: config.TRUSTED_PROXY_HOPS,
  },
  inFlight,
  // Called only after runner (below) exists: a job is created by a request, once listening.
  bulkJobCreated: () => runner.wakeUp(),
};

const runner = new BulkJobRunner(deps, {
  pageSize: config.BULK_PAGE_SIZE,
  concurrency: config.BULK_CONCURRENCY,
  leaseMs: config.BULK_LEASE_MS,
  pollIntervalMs: config.BULK_POLL_INTERVAL_MS,
});
runner.start();

const server = await listen(createApp(deps), config.PORT);
shutdown.register('stop http', async () => {
  readiness.markShuttingDown();
  // Handlers of callers that hung up hold no connection but still use Redis and Postgres,
  // which are closed next: wait for them too.
  await Promise.all([server.close({ drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS }), inFlight.idle()]);
});
// Registered last, so it runs first, before the HTTP drain (which may wait seconds for idle
// keep-alive connections) and before the clients close: the page in flight finishes and the
// job is handed back at once for another replica to resume.
shutdown.register('stop bulk job runner', () => runner.stop());
shutdown.listen(process);
logger.info({ port: server.port, runner: runner.owner }, 'admin-api listening');
