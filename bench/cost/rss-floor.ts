// The floor of bench:cost's (b), idle RSS: what a process of this stack holds before it does
// anything of the hub's own. It loads the libraries every service loads (express, kafkajs,
// ioredis, postgres.js, kysely, zod, prom-client, pino), uses each once, and holds what every
// service holds while idle: a Postgres connection, a Redis connection, a Kafka producer and a
// consumer in a group (long-polling like the dispatchers), and an HTTP server answering
// /metrics. Bundled and run like the services (ADR 0031), by bench/cost/run.ts, which reads its
// RSS from /proc beside theirs. It tells which part of a service's RSS is the hub's code and
// data, and which part the runtime and the chosen dependencies take in any case.
// Environment: FLOOR_DATABASE_URL, FLOOR_REDIS_URL, FLOOR_BROKERS (comma-separated), FLOOR_TOPIC,
// FLOOR_GROUP; it sends {type: 'ready'} once all of it is up, and exits on disconnect.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import postgres from 'postgres';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { pino } from 'pino';
import { z } from 'zod';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const logger = pino({ level: 'info' });
const registry = new Registry();
collectDefaultMetrics({ register: registry });
const requests = new Counter({ name: 'floor_requests_total', help: 'requests', labelNames: ['route'], registers: [registry] });
z.object({ id: z.uuid(), channels: z.array(z.enum(['PUSH', 'EMAIL', 'SMS', 'KAKAO_ALIMTALK'])) }).parse({ id: '0190a1b2-0000-7000-8000-000000000000', channels: ['PUSH'] });
new Kysely<{ t: { id: string } }>({
  dialect: { createAdapter: () => new PostgresAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (db) => new PostgresIntrospector(db), createQueryCompiler: () => new PostgresQueryCompiler() },
})
  .selectFrom('t')
  .select('id')
  .where('id', '=', 'x')
  .compile();

const sql = postgres(env('FLOOR_DATABASE_URL'), { max: 1, onnotice: () => {} });
await sql`select 1`;
const redis = new Redis(env('FLOOR_REDIS_URL'), { maxRetriesPerRequest: 1 });
await redis.ping();
const kafka = new Kafka({ clientId: 'bench-cost-rss-floor', brokers: env('FLOOR_BROKERS').split(','), logLevel: logLevel.NOTHING });
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
const consumer = kafka.consumer({ groupId: env('FLOOR_GROUP'), maxWaitTimeInMs: 3_000 });
await producer.connect();
await consumer.connect();
await consumer.subscribe({ topics: [env('FLOOR_TOPIC')] });
const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
await consumer.run({ eachMessage: async () => {} });
await joined;

const app = express();
app.get('/metrics', async (_req, res) => {
  requests.inc({ route: '/metrics' });
  res.type(registry.contentType).send(await registry.metrics());
});
const server = app.listen(0, '127.0.0.1');
await new Promise<void>((resolve) => server.once('listening', () => resolve()));
logger.info({ port: (server.address() as AddressInfo).port }, 'rss floor ready');
process.send?.({ type: 'ready' });

process.on('disconnect', () => {
  server.close();
  void Promise.allSettled([consumer.disconnect(), producer.disconnect(), redis.quit(), sql.end()]).finally(() => process.exit(0));
});
