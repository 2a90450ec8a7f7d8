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

/** The variables every service's config has (see `commonEnv` in @hub/config). */
export interface RuntimeConfig {
  LOG_LEVEL: LevelWithSilent;
  LOG_FORMAT: 'json' | 'pretty';
  SHUTDOWN_TIMEOUT_MS: number;
}

export function createServiceRuntime(service: string, config: RuntimeConfig, exit: (code: number) => void): ServiceRuntime {
  const logger = createLogger({ service, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const readiness = new Readiness();
  const shutdown = new ShutdownManager({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, exit });
  return { service, logger, registry: createMetricsRegistry(service), readiness, shutdown };
}
