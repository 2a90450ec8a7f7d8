import type { Express } from 'express';
import { httpMetrics, notFoundHandler, opsRouter, problemHandler, serviceApp } from '@hub/http';
import type { AdminDeps } from './deps.ts';
import { docsRouter } from './routes/docs.ts';
import { dlqRouter } from './routes/dlq.ts';
import { suppressionsRouter } from './routes/suppressions.ts';

export type { AdminDeps } from './deps.ts';

/** The admin-api express app, without `listen` (tests drive it through supertest). */
export function createApp(deps: AdminDeps): Express {
  const app = serviceApp();
  // Only the API: its handlers always end their response (res.json or the problem handler),
  // whereas an aborted static download of /docs may never call res.end.
  if (deps.inFlight) app.use('/api/v1/admin', deps.inFlight.middleware());
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
