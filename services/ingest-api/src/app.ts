import express, { type Express } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db } from '@hub/db';
import { httpMetrics, notFoundHandler, opsRouter, problemHandler } from '@hub/http';
import type { Readiness, Registry } from '@hub/observability';

export interface IngestDeps {
  db: Db;
  redis: Redis;
  logger: Logger;
  registry: Registry;
  readiness: Readiness;
  clock: () => Date;
}

/** The ingest-api express app, without `listen` (tests drive it through supertest). */
export function createApp(deps: IngestDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(httpMetrics(deps.registry));
  app.use(opsRouter(deps));
  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
