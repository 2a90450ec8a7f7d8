import express, { type Express } from 'express';
import { httpMetrics, notFoundHandler, openApiRoutes, opsRouter, problemHandler, serviceApp, verifyJsonBody } from '@hub/http';
import { createTopics } from '@hub/messaging';
import { callerAuth } from './auth.ts';
import type { Deps, IngestDeps } from './deps.ts';
import { withCompareAndDelete } from './compare-and-delete.ts';
import { createIngestMetrics } from './metrics.ts';
import { withRateLimitCommand } from './rate-limit.ts';
import { NotificationWriter } from './notification-writer.ts';
import { ReceiptWriter } from './usecases/ack-delivery.ts';
import { createRecipientReader } from './usecases/send-notification.ts';
import { ingestOpenApi } from './openapi-document.ts';
import { deviceRoutes } from './routes/devices.ts';
import { deliveryRoutes } from './routes/deliveries.ts';
import { notificationRoutes } from './routes/notifications.ts';
import { preferenceRoutes, recipientRoutes } from './routes/recipients.ts';
import { templateRoutes } from './routes/templates.ts';
import { unsubscribeRoutes } from './routes/unsubscribe.ts';
import { vendorReceiptRoutes } from './routes/vendor-receipts.ts';

export type { IngestDeps } from './deps.ts';

/** The ingest-api express app, without `listen` (tests drive it through supertest). */
export function createApp(ingest: IngestDeps): Express {
  // Lua scripts become commands of the client before any request can open a pipeline.
  withCompareAndDelete(ingest.redis);
  withRateLimitCommand(ingest.redis);
  const topics = createTopics(ingest.config.KAFKA_TOPIC_NAMESPACE);
  const deps: Deps = {
    ...ingest,
    topics,
    metrics: createIngestMetrics(ingest.registry),
    // The group-commit queues, one per app: each batches what concurrent requests write or read.
    writer: new NotificationWriter(ingest, { maxBatch: ingest.config.WRITE_BATCH_MAX, maxConcurrent: ingest.config.WRITE_CONCURRENCY }),
    recipients: createRecipientReader(ingest),
    // 4 receipt statements in flight measured best on a 2-core box (npm run load -- callbacks;
    // with 2, receipts queued behind too few commits; with 8, batches held one or two), and 4
    // stays below DATABASE_POOL_MAX for the other routes.
    receipts: new ReceiptWriter({ ...ingest, topics, logger: ingest.logger.child({ component: 'delivery-receipts' }) }, { maxBatch: 64, maxConcurrent: 4 }),
  };
  const app = serviceApp();
  // Only the API: its handlers always end their response (res.json or the problem handler),
  // whereas an aborted static download of /docs may never call res.end.
  if (deps.inFlight) app.use('/api/v1', deps.inFlight.middleware());
  app.use(httpMetrics(deps.registry));

  const api = express.Router();
  // Before the JSON parser: the receipt route needs the raw bytes it was signed over. Before
  // caller authentication too: vendors prove themselves by their signatures (SPEC §3).
  api.use(deliveryRoutes(deps));
  // One-click unsubscribe links carry their own signature; a mail client has no caller token.
  api.use(unsubscribeRoutes(deps));
  api.use(vendorReceiptRoutes(deps));
  // Everything else under /api/v1, including any route added later, needs a caller (ADR 0021),
  // and is checked before its body is parsed.
  api.use(callerAuth(deps.config, deps.logger.child({ component: 'caller-auth' })));
  api.use(express.json({ limit: deps.config.BODY_LIMIT_BYTES, type: () => true, verify: verifyJsonBody }));
  api.use(notificationRoutes(deps));
  api.use(recipientRoutes(deps));
  api.use(preferenceRoutes(deps));
  api.use(deviceRoutes(deps));
  api.use(templateRoutes(deps));
  app.use('/api/v1', api);
  // After the API, which carries the traffic: its requests need not be matched against these.
  app.use(opsRouter(deps));
  app.use(openApiRoutes({ document: () => ingestOpenApi({ authenticated: deps.config.INGEST_JWKS_URL !== undefined }) }));

  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
