import { Redis } from 'ioredis';
import { loadConfigOrExit } from '@hub/config';
import { createDb, pingDb } from '@hub/db';
import { InFlightRequests, listen } from '@hub/http';
import { createServiceRuntime, startTracing } from '@hub/observability';
import { createApp } from './app.ts';
import { ingestConfigSchema } from './config.ts';

const config = loadConfigOrExit(ingestConfigSchema, process, 'ingest-api');
// First, so every span of the process goes to the tracer provider (when tracing is on).
const stopTracing = await startTracing({ serviceName: 'ingest-api', env: config });
const runtime = createServiceRuntime('ingest-api', config, (code) => process.exit(code));
const { logger, readiness, shutdown } = runtime;
// Registered first, so it runs last: the spans of the last requests are exported too.
shutdown.register('flush traces', stopTracing);

const database = createDb({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, applicationName: 'ingest-api' });
// Auto-pipelining: commands issued in the same event-loop turn (concurrent requests' claims
// and rate-limit scripts) go out in one write instead of one syscall each.
const redis = new Redis(config.REDIS_URL, { keyPrefix: config.REDIS_KEY_PREFIX, maxRetriesPerRequest: 1, enableAutoPipelining: true });
redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
readiness
  .add({ name: 'postgres', check: () => pingDb(database) })
  .add({ name: 'redis', check: async () => void (await redis.ping()) });

shutdown.register('close postgres', () => database.close());
shutdown.register('close redis', async () => void (await redis.quit()));

const inFlight = new InFlightRequests();
const app = createApp({ ...runtime, db: database.db, sql: database.sql, redis, config, inFlight, clock: () => new Date() });
const server = await listen(app, config.PORT, config.HOST);
shutdown.register('stop http', async () => {
  readiness.markShuttingDown();
  // Handlers of callers that hung up hold no connection but still use Redis and Postgres,
  // which are closed next: wait for them too.
  await Promise.all([server.close({ drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS }), inFlight.idle()]);
});
shutdown.listen(process);
logger.info({ port: server.port }, 'ingest-api listening');
