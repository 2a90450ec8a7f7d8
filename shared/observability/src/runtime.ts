import type { LevelWithSilent, Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createLogger } from './logger.ts';
import { createMetricsRegistry } from './metrics.ts';
import { Readiness } from './readiness.ts';
import { ShutdownManager } from './shutdown.ts';

/** What every service process has: a logger, its metrics registry, readiness and shutdown. */
export interface ServiceRuntime {
  service: string;
  logger: Logger;
  registry: Registry;
  readiness: Readiness;
  shutdown: ShutdownManager;
}

export function createServiceRuntime(options: {
  service: string;
  logLevel: LevelWithSilent;
  logFormat?: 'json' | 'pretty';
  shutdownTimeoutMs: number;
  exit: (code: number) => void;
}): ServiceRuntime {
  const logger = createLogger({ service: options.service, level: options.logLevel, format: options.logFormat ?? 'json' });
  const readiness = new Readiness();
  const shutdown = new ShutdownManager({ logger, timeoutMs: options.shutdownTimeoutMs, exit: options.exit });
  return { service: options.service, logger, registry: createMetricsRegistry(options.service), readiness, shutdown };
}
