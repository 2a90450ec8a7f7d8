import { Redis } from 'ioredis';
import { kafkaConnection, loadConfigOrExit } from '@hub/config';
import { createDb, pingDb } from '@hub/db';
import type { Channel } from '@hub/domain';
import { listen, opsApp } from '@hub/http';
import { createKafka, createProducer, createTopics, pingKafka } from '@hub/messaging';
import { createServiceRuntime, Gauge, startTracing } from '@hub/observability';
import { createVendorSender } from '@hub/vendors';
import { dispatcherConfigSchema } from './config.ts';
import { Dispatcher } from './dispatcher.ts';
import { redisSendRateCap } from './send-rate-cap.ts';
import { ProtectedVendor } from './vendor-call.ts';

type Proc = {
  env: Record<string, string | undefined>;
  exit: (code: number) => never;
  on(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
};

/**
 * The body of every dispatcher's main.ts: the four channel services differ only in `channel`.
 * Called from main.ts, which owns the process; nothing here runs on import.
 */
export async function runDispatcher(channel: Channel, proc: Proc): Promise<void> {
  const service = `dispatcher-${channel === 'KAKAO_ALIMTALK' ? 'kakao' : channel.toLowerCase()}`;
  const config = loadConfigOrExit(dispatcherConfigSchema(channel), proc, service);
  // First, so every span of the process goes to the tracer provider (when tracing is on).
  const stopTracing = await startTracing({ serviceName: service, env: config });
  const runtime = createServiceRuntime(service, config, (code) => proc.exit(code));
  const { logger, readiness, shutdown } = runtime;
  // Registered first, so it runs last: the spans of the last deliveries are exported too.
  shutdown.register('flush traces', stopTracing);

  const database = createDb({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, applicationName: service });
  const kafka = createKafka({ ...kafkaConnection(config), clientId: service, logger });
  const admin = kafka.admin();
  const producer = createProducer(kafka);
  const sender = await createVendorSender(channel, config);
  // Only for the shared send-rate cap: without one, a dispatcher needs no Redis.
  const redis =
    config.VENDOR_RATE_PER_SECOND > 0 && config.REDIS_URL
      ? new Redis(config.REDIS_URL, { keyPrefix: config.REDIS_KEY_PREFIX, maxRetriesPerRequest: 1, enableAutoPipelining: true })
      : undefined;
  redis?.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const vendor = new ProtectedVendor(
    sender,
    {
      attempts: config.VENDOR_CALL_ATTEMPTS,
      timeoutMs: config.VENDOR_TIMEOUT_MS,
      breaker: {
        errorThresholdPercentage: config.VENDOR_BREAKER_ERROR_PERCENT,
        volumeThreshold: config.VENDOR_BREAKER_VOLUME,
        resetTimeoutMs: config.VENDOR_BREAKER_RESET_MS,
      },
    },
    redis && redisSendRateCap(redis, { vendor: sender.name, ratePerSecond: config.VENDOR_RATE_PER_SECOND }),
  );
  new Gauge({
    name: 'vendor_circuit_open',
    help: "1 while the vendor's circuit breaker is open and sends fail fast without calling it, else 0",
    labelNames: ['vendor'],
    registers: [runtime.registry],
    collect() {
      this.set({ vendor: vendor.name }, vendor.isOpen() ? 1 : 0);
    },
  });
  // Registered first, so they run last: clients close after the consumers drained.
  shutdown.register('close postgres', () => database.close());
  shutdown.register('disconnect kafka', async () => {
    await producer.disconnect();
    await admin.disconnect();
  });
  shutdown.register('close vendor', () => vendor.close());
  if (redis) shutdown.register('close redis', async () => void (await redis.quit()));
  await Promise.all([admin.connect(), producer.connect()]);

  const dispatcher = new Dispatcher({
    channel,
    db: database.db,
    kafka,
    producer,
    topics: createTopics(config.KAFKA_TOPIC_NAMESPACE),
    vendor,
    logger,
    registry: runtime.registry,
    bulkConcurrency: config.DISPATCH_CONCURRENCY,
    priorityConcurrency: config.DISPATCH_PRIORITY_CONCURRENCY,
    retryConcurrency: config.DISPATCH_RETRY_CONCURRENCY,
    fetchLingerMs: config.DISPATCH_FETCH_LINGER_MS,
    fetchMaxWaitMs: config.DISPATCH_FETCH_MAX_WAIT_MS,
    leaseMs: config.DISPATCH_LEASE_MS,
    // Deliveries at the vendor get most of the shutdown deadline; the rest is for the last
    // offset commit and closing the clients.
    drainTimeoutMs: Math.max(1_000, config.SHUTDOWN_TIMEOUT_MS - 5_000),
    backoff: { baseMs: config.RETRY_BACKOFF_BASE_MS, maxMs: config.RETRY_BACKOFF_MAX_MS },
  });
  shutdown.register('stop consumers', () => dispatcher.stop());
  readiness
    .add({ name: 'postgres', check: () => pingDb(database) })
    .add({ name: 'kafka', check: () => pingKafka(admin) })
    .add({
      name: 'consumers',
      check: async () => {
        if (!dispatcher.healthy()) throw new Error('a consumer is not running');
      },
    });

  const server = await listen(opsApp(runtime), config.PORT);
  shutdown.register('stop http', async () => {
    readiness.markShuttingDown();
    await server.close();
  });
  shutdown.listen(proc);
  await dispatcher.start();
  logger.info({ port: server.port, channel, vendor: vendor.name }, 'dispatcher listening');
}
