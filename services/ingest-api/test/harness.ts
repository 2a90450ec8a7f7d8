import { createHmac } from 'node:crypto';
import { parseEnv } from '@hub/config';
import { createMetricsRegistry, Readiness } from '@hub/observability';
import type { TestContext } from '@hub/testing';
import { createApp } from '../src/app.ts';
import { ingestConfigSchema, type IngestConfig } from '../src/config.ts';

export const WEBHOOK_SECRETS = { fcm: 'fcm-secret', ses: 'ses-secret', twilio: 'twilio-secret' } as const;

/** A settable clock: tests move time instead of waiting. */
export function testClock(start = new Date()) {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    set: (d: Date) => void (now = d.getTime()),
    advance: (ms: number) => void (now += ms),
  };
}

export function ingestConfig(ctx: TestContext, env: Record<string, string> = {}): IngestConfig {
  return parseEnv(ingestConfigSchema, {
    ...ctx.env,
    WEBHOOK_SECRET_FCM: WEBHOOK_SECRETS.fcm,
    WEBHOOK_SECRET_SES: WEBHOOK_SECRETS.ses,
    WEBHOOK_SECRET_TWILIO: WEBHOOK_SECRETS.twilio,
    ...env,
  });
}

/** createApp with the real Postgres clone and Redis of this test file. */
export function ingestApp(ctx: TestContext, options: { env?: Record<string, string>; clock?: () => Date } = {}) {
  const registry = createMetricsRegistry('ingest-api-test');
  const config = ingestConfig(ctx, options.env);
  const app = createApp({
    db: ctx.database.db,
    sql: ctx.database.sql,
    redis: ctx.redis,
    logger: ctx.logger,
    registry,
    readiness: new Readiness(),
    clock: options.clock ?? (() => new Date()),
    config,
  });
  return { app, registry, config };
}

export function sign(secret: string, timestamp: number | string, rawBody: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

/** Row counts of every table ingest writes, to prove a bad request wrote nothing. */
export async function rowCounts(ctx: TestContext): Promise<Record<string, number>> {
  const tables = ['recipients', 'recipient_preferences', 'device_tokens', 'templates', 'notifications', 'idempotency_keys', 'delivery_attempts', 'outbox', 'audit_events'] as const;
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const row = await ctx.database.db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}
