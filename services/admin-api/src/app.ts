import express, { type Express } from 'express';
import { httpMetrics, notFoundHandler, opsRouter, problemHandler } from '@hub/http';
import type { AdminDeps } from './deps.ts';
import { docsRouter } from './routes/docs.ts';
import { dlqRouter } from './routes/dlq.ts';
import { suppressionsRouter } from './routes/suppressions.ts';

export type { AdminDeps } from './deps.ts';

/** The admin-api express app, without `listen` (tests drive it through supertest). */
export function createApp(deps: AdminDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Only the API: its handlers always end their response (res.json or the problem handler),
  // whereas an aborted static download of /docs may never call res.end.
  if (deps.inFlight) app.use('/api/v1/admin', deps.inFlight.middleware());
  // Rate limiting keys on the socket address (or the configured trusted proxy hop); Express's
  // own `trust proxy` stays off so nothing else believes a client-sent X-Forwarded-For.
  app.set('trust proxy', false);
  app.set('query parser', 'simple');
  // No ETag: nothing sends If-None-Match (the API's answers are not cached); see ingest-api.
  app.set('etag', false);
  app.use(httpMetrics(deps.registry));
  app.use('/api/v1/admin', dlqRouter(deps));
  app.use('/api/v1/admin', suppressionsRouter(deps));
  // After the API, which carries the traffic: its requests need not be matched against these.
  app.use(opsRouter(deps));
  app.use(docsRouter());
  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
