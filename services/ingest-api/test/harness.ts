import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { parseEnv } from '@hub/config';
import type { DbHandle } from '@hub/db';
import type { Redis } from 'ioredis';
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

/** createApp with the real Postgres clone and Redis of this test file (or `database` and `redis`, e.g. reached through a TcpProxy). */
export function ingestApp(ctx: TestContext, options: { env?: Record<string, string>; clock?: () => Date; database?: DbHandle; redis?: Redis } = {}) {
  const registry = createMetricsRegistry('ingest-api-test');
  const config = ingestConfig(ctx, options.env);
  const database = options.database ?? ctx.database;
  const app = createApp({
    db: database.db,
    sql: database.sql,
    redis: options.redis ?? ctx.redis,
    logger: ctx.logger,
    registry,
    readiness: new Readiness(),
    clock: options.clock ?? (() => new Date()),
    config,
  });
  return { app, registry, config };
}

/** A vendor receipt's signature (SPEC §3): `v1=` + hex HMAC-SHA256 of "<timestamp>.<attemptId>.<raw body>". */
export function sign(secret: string, timestamp: number | string, attemptId: string, rawBody: string | Buffer): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${attemptId}.`).update(rawBody).digest('hex')}`;
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

export const JWT_ISSUER = 'https://issuer.test';
export const JWT_AUDIENCE = 'notification-hub-test';

/** How the local JWKS endpoint answers: its key set, a 503, or never (a timeout). */
export type JwksMode = 'up' | 'error' | 'hang';

/**
 * A local identity provider: a JWKS endpoint answering like /.well-known/jwks.json, and a
 * signer for tokens of its key. `env` switches caller authentication on for an app.
 */
export async function startJwks() {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  let mode: JwksMode = 'up';
  const server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') return void res.writeHead(404).end();
    if (mode === 'hang') return;
    if (mode === 'error') return void res.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  return {
    url,
    env: { INGEST_JWKS_URL: url, INGEST_JWT_ISSUER: JWT_ISSUER, INGEST_JWT_AUDIENCE: JWT_AUDIENCE },
    answer: (next: JwksMode) => void (mode = next),
    /** A token of this key; `sub: null` leaves the subject out, `claims` adds private claims. */
    token: (options: { sub?: string | null; issuer?: string; audience?: string; expiresIn?: string; claims?: Record<string, unknown> } = {}) => {
      const jwt = new SignJWT({ ...options.claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(options.issuer ?? JWT_ISSUER)
        .setAudience(options.audience ?? JWT_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '5m');
      if (options.sub !== null) jwt.setSubject(options.sub ?? 'caller-1');
      return jwt.sign(privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type Jwks = Awaited<ReturnType<typeof startJwks>>;

/** A URL where nothing listens: a port that was just bound and released. */
export async function deadUrl(path = '/.well-known/jwks.json'): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}${path}`;
}
