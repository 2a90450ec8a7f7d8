import type { Redis } from 'ioredis';
import type postgres from 'postgres';
import type { Logger } from 'pino';
import type { Db } from '@hub/db';
import type { InFlightRequests } from '@hub/http';
import type { Topics } from '@hub/messaging';
import type { Readiness, Registry } from '@hub/observability';
import type { IngestConfig } from './config.ts';
import type { IngestMetrics } from './metrics.ts';
import type { NotificationWriter } from './notification-writer.ts';
import type { ReceiptWriter } from './usecases/ack-delivery.ts';
import type { RecipientReader } from './usecases/send-notification.ts';
import type { SnsTrust } from './routes/vendor-receipts-sns.ts';

/** What main.ts (or a test) hands to createApp. */
export interface IngestDeps {
  db: Db;
  /** The raw postgres.js client behind `db` (pipelined batch writes). */
  sql: postgres.Sql;
  /** A client whose keyPrefix is REDIS_KEY_PREFIX: every key below is relative to it. */
  redis: Redis;
  logger: Logger;
  registry: Registry;
  readiness: Readiness;
  clock: () => Date;
  config: IngestConfig;
  /** When given, every request is counted so shutdown can wait for running handlers. */
  inFlight?: InFlightRequests;
  /**
   * Which URLs of an SNS message (signing certificate, subscription confirmation) may be fetched.
   * Unset in production: HTTPS on sns.<region>.amazonaws.com only. Tests trust their fake's origin.
   */
  snsTrust?: SnsTrust;
}

/** Everything a use case may pick from (createApp derives topics and metrics). */
export interface Deps extends IngestDeps {
  topics: Topics;
  metrics: IngestMetrics;
  writer: NotificationWriter;
  /** Batches the recipient reads of concurrent sends into one statement. */
  recipients: RecipientReader;
  /** Applies the vendor receipts of concurrent requests together. */
  receipts: ReceiptWriter;
}
