import { Redis } from 'ioredis';
import { newId, type Db } from '@hub/db';
import type { AttemptStatus, Channel, Kind } from '@hub/domain';
import { PRIORITY_KINDS } from '@hub/domain';
import { createMetricsRegistry, Readiness } from '@hub/observability';
import type { TestContext } from '@hub/testing';
import { actorOf } from '../src/access/token.ts';
import type { AdminDeps } from '../src/deps.ts';
import { BulkJobRunner, type BulkJobRunnerOptions } from '../src/jobs/bulk-job-runner.ts';
import { createAdminMetrics } from '../src/metrics.ts';

export const TOKEN = 'test-admin-token-0123456789';
export const ACTOR = actorOf(TOKEN, undefined);

/**
 * Real deps for createApp against this file's database and Redis. `redisScope` gives the app its
 * own Redis key prefix (inside the file's), so rate-limit counters of different tests never mix.
 */
export function adminDeps(
  ctx: TestContext,
  options: { access?: Partial<AdminDeps['access']>; redisScope?: string; clock?: () => Date } = {},
): AdminDeps & { close: () => void } {
  const registry = createMetricsRegistry('admin-api-test');
  const redis = options.redisScope
    ? new Redis(ctx.redisUrl, { keyPrefix: `${ctx.redisPrefix}${options.redisScope}:`, maxRetriesPerRequest: 2 })
    : ctx.redis;
  return {
    db: ctx.database.db,
    redis,
    logger: ctx.logger,
    registry,
    metrics: createAdminMetrics(registry),
    readiness: new Readiness(),
    clock: options.clock ?? (() => new Date()),
    topics: ctx.topics,
    access: {
      token: TOKEN,
      actor: ACTOR,
      rateLimitPerMinute: 100_000,
      trustedProxyHops: 0,
      ...options.access,
    },
    close: () => {
      if (redis !== ctx.redis) redis.disconnect();
    },
  };
}

export function startRunner(deps: AdminDeps, options: Partial<BulkJobRunnerOptions> = {}): BulkJobRunner {
  const runner = new BulkJobRunner(deps, { pageSize: 100, concurrency: 8, leaseMs: 5_000, pollIntervalMs: 25, ...options });
  runner.start();
  return runner;
}

const ADDRESS: Record<Channel, string> = {
  PUSH: 'permanent-device-token-0123456789abcdef',
  EMAIL: 'bounce@simulator.amazonses.com',
  SMS: '+15005550009',
  KAKAO_ALIMTALK: '+15005550009',
};

export interface SeedAttemptsInput {
  count: number;
  channel?: Channel;
  kind?: Kind;
  status?: AttemptStatus;
  failureReason?: string | null;
  /** When the attempt last changed (for an EXHAUSTED one: when it entered the DLQ). */
  updatedAt?: Date;
  address?: string;
  /** Attach every attempt to this notification instead of one new notification each. */
  notificationId?: string;
}

/**
 * Writes attempts as the dispatchers leave them (default: EXHAUSTED after 5 dispatches with a
 * permanent failure), each with its FANNED_OUT notification. Stands in for the delivery pipeline,
 * which admin-api's tests must not depend on. Returns the attempt ids in ascending order.
 */
export async function seedAttempts(db: Db, input: SeedAttemptsInput): Promise<string[]> {
  const channel = input.channel ?? 'EMAIL';
  const kind = input.kind ?? 'MARKETING';
  const status = input.status ?? 'EXHAUSTED';
  const updatedAt = input.updatedAt ?? new Date();
  const ids: string[] = [];
  for (let offset = 0; offset < input.count; offset += 1000) {
    const n = Math.min(1000, input.count - offset);
    const notifications = input.notificationId
      ? []
      : Array.from({ length: n }, () => ({
          id: newId(),
          recipient_id: `user-${offset}`,
          kind,
          title: 'Your receipt',
          body: 'Thanks for your order',
          payload: {},
          status: 'FANNED_OUT' as const,
          idempotency_key: newId(),
        }));
    if (notifications.length > 0) await db.insertInto('notifications').values(notifications).execute();
    const attempts = Array.from({ length: n }, (_, i) => ({
      id: newId(),
      notification_id: input.notificationId ?? notifications[i]!.id,
      channel,
      address: input.address ?? ADDRESS[channel],
      status,
      priority: PRIORITY_KINDS.has(kind),
      retry_count: status === 'EXHAUSTED' ? 5 : 0,
      max_retry: 5,
      rendered_title: 'Your receipt',
      rendered_body: 'Thanks for your order',
      failure_reason: input.failureReason === undefined ? 'permanent: 550 mailbox unavailable' : input.failureReason,
      created_at: updatedAt,
      updated_at: updatedAt,
      completed_at: status === 'EXHAUSTED' || status === 'SUCCEEDED' ? updatedAt : null,
    }));
    await db.insertInto('delivery_attempts').values(attempts).execute();
    ids.push(...attempts.map((a) => a.id));
  }
  return ids.sort();
}

export async function seedNotification(db: Db, kind: Kind = 'SECURITY', status: 'FANNED_OUT' | 'SCHEDULED' | 'COMPLETED' = 'FANNED_OUT') {
  const id = newId();
  await db
    .insertInto('notifications')
    .values({ id, recipient_id: 'user-1', kind, title: 't', body: 'b', payload: {}, status, idempotency_key: newId() })
    .execute();
  return id;
}
