// Ingest benchmark: how close does one ingest-api process get to what Postgres itself can
// write? Run: `npm run bench:ingest` (env: DATABASE_URL, REDIS_URL; optional BENCH_SECONDS,
// BENCH_CONCURRENCY="8,16,32,64", BENCH_CPU_PROF=<dir> to write a V8 CPU profile of the
// ingest-api process there). Everything binds to 127.0.0.1 and stops by itself.
//
// 1. Ceiling: the exact write set of one accepted 4-channel notification (idempotency key,
//    notification, 4 attempts, 4 delivery + 1 fanned-out outbox rows, audit row), as raw SQL in
//    one pipelined transaction per notification, from N concurrent workers.
// 2. ingest-api as its own process, driven by autocannon with a fresh Idempotency-Key per
//    request, at the same concurrency levels.
// 3. accepted/s, p50/p95/p99 and the ratio ingest ÷ ceiling per level.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { createDb, migrateToLatest, newId, openPostgres } from '@hub/db';
import { createTopics, makeEvent } from '@hub/messaging';
import { bundleServices, serviceEntry } from '../../deploy/build/bundle.ts';
import { untilReady } from '../../shared/testing/src/children.ts';
import { freePort } from '../../shared/testing/src/ports.ts';

const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const LEVELS = (process.env.BENCH_CONCURRENCY ?? '8,16,32,64').split(',').map(Number);
// The ingest process's pool; the ceiling uses the same number of connections.
const POOL = Number(process.env.BENCH_POOL ?? 10);
const RECIPIENTS = 200;

const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const dbName = `hub_bench_${runId}`;
const redisPrefix = `bench:${runId}:`;
const withDb = (url: string, name: string) => Object.assign(new URL(url), { pathname: `/${name}` }).toString();
const DB_URL = withDb(ADMIN_URL, dbName);

interface Sample {
  concurrency: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function setup(): Promise<string[]> {
  const admin = openPostgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${dbName}"`);
  await admin.end();
  const handle = createDb({ url: DB_URL, max: 2, applicationName: 'bench-setup' });
  await migrateToLatest(handle.db);
  const ids = Array.from({ length: RECIPIENTS }, (_, i) => `bench-user-${i}`);
  await handle.db
    .insertInto('recipients')
    .values(
      ids.map((id) => ({
        id,
        channels: [
          { type: 'EMAIL' as const, address: `${id}@example.com` },
          { type: 'SMS' as const, address: '+821012345678' },
          { type: 'KAKAO_ALIMTALK' as const, address: '+821012345678' },
        ],
      })),
    )
    .execute();
  // Quiet hours off: at night Kakao would be dropped and the notification would have 3 channels.
  await handle.db.insertInto('recipient_preferences').values(ids.map((id) => ({ recipient_id: id, quiet_hours_enabled: false, kinds: {} }))).execute();
  await handle.db
    .insertInto('device_tokens')
    .values(ids.map((id) => ({ id: newId(), recipient_id: id, platform: 'ANDROID' as const, token: `bench-token-${id}-${'x'.repeat(32)}` })))
    .execute();
  await handle.close();
  return ids;
}

async function teardown(): Promise<void> {
  const admin = openPostgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.end();
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}

/** The write set of one accepted 4-channel notification, as one pipelined transaction. */
async function ceiling(recipients: string[], concurrency: number): Promise<Sample> {
  const sql = openPostgres(DB_URL, { max: Math.min(concurrency, POOL), onnotice: () => {} });
  const topics = createTopics('');
  const channels = ['PUSH', 'EMAIL', 'SMS', 'KAKAO_ALIMTALK'] as const;
  const latencies: number[] = [];
  let done = 0;
  let errors = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const worker = async (w: number) => {
    let i = 0;
    while (performance.now() < deadline) {
      const recipientId = recipients[(w * 7919 + i++) % recipients.length]!;
      const notificationId = newId();
      const now = new Date();
      const attempts = channels.map((channel) => ({ id: newId(), channel }));
      const outbox = [
        ...attempts.map((a) => ({
          id: newId(),
          topic: topics.delivery(a.channel, true),
          payload: makeEvent('delivery.requested', { attemptId: a.id, notificationId, channel: a.channel, priority: true, retryCount: 0 }, now),
        })),
        { id: newId(), topic: topics.fannedOut, payload: makeEvent('notification.fanned-out', { notificationId, recipientId, kind: 'SECURITY', status: 'FANNED_OUT', attempts: attempts.map((a) => ({ attemptId: a.id, channel: a.channel })) }, now) },
      ];
      const started = performance.now();
      try {
        await sql.begin((tx) => [
          tx`insert into idempotency_keys (key, notification_id, created_at) values (${randomUUID()}, ${notificationId}, ${now}) on conflict (key) do nothing returning notification_id`,
          tx`insert into notifications (id, recipient_id, kind, title, body, template_key, payload, status, suppression_reason, scheduled_for, idempotency_key, created_at, updated_at)
             values (${notificationId}, ${recipientId}, 'SECURITY', 'Sign-in from a new device', 'Was this you?', null, ${tx.json({})}, 'FANNED_OUT', null, null, ${notificationId}, ${now}, ${now})`,
          tx`insert into delivery_attempts ${tx(
            attempts.map((a) => ({
              id: a.id,
              notification_id: notificationId,
              channel: a.channel,
              address: a.channel === 'EMAIL' ? `${recipientId}@example.com` : '+821012345678',
              device_token_id: null,
              status: 'PENDING',
              priority: true,
              rendered_title: 'Sign-in from a new device',
              rendered_body: 'Was this you?',
              sms_segments: a.channel === 'SMS' ? 1 : null,
              created_at: now,
              updated_at: now,
            })),
          )}`,
          tx`insert into outbox ${tx(outbox.map((o) => ({ id: o.id, topic: o.topic, message_key: recipientId, payload: tx.json(o.payload as never), headers: tx.json({}), available_at: now })))}`,
          tx`insert into audit_events (id, actor, action, target_type, target_id, details) values (${newId()}, 'api', 'NOTIFICATION_ACCEPTED', 'notification', ${notificationId}, ${tx.json({ kind: 'SECURITY', recipientId })})`,
        ]);
        latencies.push(performance.now() - started);
        done++;
      } catch {
        errors++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsed = (performance.now() - started) / 1000;
  await sql.end();
  latencies.sort((a, b) => a - b);
  return { concurrency, perSecond: done / elapsed, p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), errors };
}

async function startIngest(port: number, extraEnv: Record<string, string>) {
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`] : [];
  // As production runs it: its bundle, built from these sources.
  await bundleServices(['ingest-api']);
  const child = spawn(process.execPath, [...profile, '--disable-warning=TimeoutNegativeWarning', serviceEntry('ingest-api')], {
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: DB_URL,
      DATABASE_POOL_MAX: String(POOL),
      REDIS_URL,
      REDIS_KEY_PREFIX: redisPrefix,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '5000',
      // Limits out of the way: the benchmark measures throughput, not the limiter's refusals.
      RATE_LIMIT_PUSH: '1000000000',
      RATE_LIMIT_EMAIL: '1000000000',
      RATE_LIMIT_SMS: '1000000000',
      RATE_LIMIT_KAKAO_ALIMTALK: '1000000000',
      ...extraEnv,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const state = await untilReady(child, `http://127.0.0.1:${port}`, { description: 'ingest-api ready', timeoutMs: 20_000, intervalMs: 100 });
  if (state === 'exited') throw new Error(`ingest-api exited with ${child.exitCode ?? child.signalCode} before it was ready`);
  return child;
}

async function drive(port: number, recipients: string[], concurrency: number): Promise<Sample> {
  const latencies: number[] = [];
  let accepted = 0;
  let errors = 0;
  let n = 0;
  const instance = autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: concurrency,
    duration: SECONDS,
    requests: [
      {
        method: 'POST',
        path: '/api/v1/notifications',
        setupRequest: (req) => ({
          ...req,
          headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          body: JSON.stringify({
            recipientId: recipients[n++ % recipients.length],
            kind: 'SECURITY',
            title: 'Sign-in from a new device',
            body: 'Was this you?',
          }),
        }),
      },
    ],
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode === 202) {
      accepted++;
      latencies.push(responseTime);
    } else errors++;
  });
  const result = await instance;
  latencies.sort((a, b) => a - b);
  return {
    concurrency,
    perSecond: accepted / (result.duration || SECONDS),
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    errors: errors + result.errors + result.timeouts,
  };
}

const fmt = (s: Sample) =>
  `c=${String(s.concurrency).padStart(3)}  ${s.perSecond.toFixed(0).padStart(6)}/s  p50 ${s.p50.toFixed(1).padStart(6)} ms  p95 ${s.p95.toFixed(1).padStart(6)} ms  p99 ${s.p99.toFixed(1).padStart(6)} ms  errors ${s.errors}`;

async function main() {
  console.log(`ingest benchmark: ${SECONDS}s per level, concurrency ${LEVELS.join(',')}, pool ${POOL}, database ${dbName}`);
  console.log('numbers are indicative: Postgres, Redis, the service and the load generator share this machine');
  const recipients = await setup();
  let child: ReturnType<typeof spawn> | undefined;
  try {
    console.log('\n(1) Postgres ceiling: raw-SQL write set of one accepted 4-channel notification');
    const ceilings: Sample[] = [];
    for (const c of LEVELS) {
      const s = await ceiling(recipients, c);
      ceilings.push(s);
      console.log(`  ${fmt(s)}`);
    }
    console.log('\n(2) ingest-api (separate process) under autocannon, 4-channel SECURITY notifications');
    const port = await freePort();
    // Group-commit knobs can be tried from the command line (see ADR 0007).
    const knobs = Object.fromEntries(
      ['WRITE_CONCURRENCY', 'WRITE_BATCH_MAX', 'DATABASE_POOL_MAX'].flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])),
    );
    child = await startIngest(port, knobs);
    // Warm-up: JIT, prepared statements, pool connections.
    await drive(port, recipients, LEVELS[0]!).catch(() => undefined);
    const ingest: Sample[] = [];
    for (const c of LEVELS) {
      const s = await drive(port, recipients, c);
      ingest.push(s);
      console.log(`  ${fmt(s)}`);
    }
    console.log('\n(3) ratio ingest ÷ ceiling (accepted/s at the same concurrency)');
    for (let i = 0; i < LEVELS.length; i++) {
      console.log(`  c=${String(LEVELS[i]).padStart(3)}  ${(ingest[i]!.perSecond / ceilings[i]!.perSecond).toFixed(2)}`);
    }
    const best = (xs: Sample[]) => xs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
    const bestIngest = best(ingest);
    const bestCeiling = best(ceilings);
    console.log(`\n  best ingest ${bestIngest.perSecond.toFixed(0)}/s at c=${bestIngest.concurrency} (p99 ${bestIngest.p99.toFixed(1)} ms); best ceiling ${bestCeiling.perSecond.toFixed(0)}/s at c=${bestCeiling.concurrency}; ratio ${(bestIngest.perSecond / bestCeiling.perSecond).toFixed(2)}`);
    console.log(`  target: >= 1000 accepted/s with p99 < 100 ms, ratio >= 0.8`);
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    await teardown();
  }
}

await main();
