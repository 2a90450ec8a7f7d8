import { loadConfigOrExit } from '@hub/config';
import { createDb, pingDb } from '@hub/db';
import { listen, opsApp } from '@hub/http';
import { createKafka, createProducer, pingKafka } from '@hub/messaging';
import { createServiceRuntime } from '@hub/observability';
import { relayConfigSchema } from './config.ts';

const config = loadConfigOrExit(relayConfigSchema, process, 'outbox-relay');
const runtime = createServiceRuntime({
  service: 'outbox-relay',
  logLevel: config.LOG_LEVEL,
  logFormat: config.LOG_FORMAT,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  exit: (code) => process.exit(code),
});
const { logger, readiness, shutdown } = runtime;

const database = createDb({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, applicationName: 'outbox-relay' });
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'outbox-relay', logger });
const admin = kafka.admin();
const producer = createProducer(kafka);
shutdown.register('close postgres', () => database.close());
shutdown.register('disconnect kafka', async () => {
  await producer.disconnect();
  await admin.disconnect();
});
await Promise.all([admin.connect(), producer.connect()]);
readiness
  .add({ name: 'postgres', check: () => pingDb(database.db) })
  .add({ name: 'kafka', check: () => pingKafka(admin) });

const server = await listen(opsApp(runtime), config.PORT);
shutdown.register('stop http', async () => {
  readiness.markShuttingDown();
  await server.close();
});
shutdown.listen(process);
logger.info({ port: server.port }, 'outbox-relay listening');
