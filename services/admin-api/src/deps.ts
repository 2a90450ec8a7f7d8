import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db } from '@hub/db';
import type { InFlightRequests } from '@hub/http';
import type { Topics } from '@hub/messaging';
import type { Readiness, Registry } from '@hub/observability';
import type { AdminMetrics } from './metrics.ts';

/** Everything the admin-api's routes, use cases and job runner are built from (wired in main.ts). */
export interface AdminDeps {
  db: Db;
  redis: Redis;
  logger: Logger;
  registry: Registry;
  metrics: AdminMetrics;
  readiness: Readiness;
  clock: () => Date;
  topics: Topics;
  access: {
    /** ADMIN_AUTH_TOKEN; undefined denies every request. */
    token: string | undefined;
    /** Who the audit trail says acted (see actorOf). */
    actor: string;
    rateLimitPerMinute: number;
    trustedProxyHops: number;
  };
  /** When given, every API request is counted so shutdown can wait for running handlers. */
  inFlight?: InFlightRequests;
  /** Called once a bulk job committed: this replica's runner claims it without waiting for its poll. */
  bulkJobCreated?: () => void;
}
