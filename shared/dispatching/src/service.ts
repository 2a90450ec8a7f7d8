import { loadConfigOrExit } from '@hub/config';
import { createDb, pingDb } from '@hub/db';
import type { Channel } from '@hub/domain';
import { listen, opsApp } from '@hub/http';
import { createKafka, createProducer, pingKafka } from '@hub/messaging';
import { createServiceRuntime } from '@hub/observability';
import { dispatcherConfigSchema } from './config.ts';

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
  const runtime = createServiceRuntime({
    service,
    logLevel: config.LOG_LEVEL,
    logFormat: config.LOG_FORMAT,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    exit: (code) => proc.exit(code),
  });
  const { logger, readiness, shutdown } = runtime;

  const database = createDb({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, applicationName: service });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: service, logger });
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
  shutdown.listen(proc);
  logger.info({ port: server.port, channel }, 'dispatcher listening');
}
