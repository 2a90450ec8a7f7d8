import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Readiness, Registry } from '@hub/observability';
import { opsRouter } from './ops.ts';
import { notFoundHandler, problemHandler } from './problem.ts';

/**
 * An express app with the settings every service's app shares: no X-Powered-By; no ETag (nothing
 * sends If-None-Match: the API's answers and /metrics are not cached, and hashing every body was
 * ~3 % of the receipt path's CPU); the simple query parser (no nested objects from `a[b]=c`); and
 * `trust proxy` off, so nothing believes a client-sent X-Forwarded-For (rate limits key on the
 * socket address or their own configured proxy hop).
 */
export function serviceApp(): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.set('trust proxy', false);
  return app;
}

/** The HTTP app of a worker service (relay, dispatchers): health, readiness and metrics only. */
export function opsApp(deps: { readiness: Readiness; registry: Registry; logger: Logger }): Express {
  const app = serviceApp();
  app.use(opsRouter(deps));
  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
