import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Readiness, Registry } from '@hub/observability';
import { opsRouter } from './ops.ts';
import { notFoundHandler, problemHandler } from './problem.ts';

/** The HTTP app of a worker service (relay, dispatchers): health, readiness and metrics only. */
export function opsApp(deps: { readiness: Readiness; registry: Registry; logger: Logger }): Express {
  const app = express();
  app.disable('x-powered-by');
  // No ETag: a scrape never sends If-None-Match, and hashing every /metrics body costs CPU.
  app.set('etag', false);
  app.use(opsRouter(deps));
  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
