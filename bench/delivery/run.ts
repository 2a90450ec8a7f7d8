// Delivery pipeline throughput and latency on this machine (numbers are indicative: a shared
// 2-core box also runs Postgres, Kafka and other work). One run prints:
//   1. relay events/s, draining a pre-filled outbox to Kafka               (target ≥ 20,000/s)
//   2. dispatcher deliveries/s, one instance, zero-latency mock vendor     (target ≥ 5,000/s)
//   3. the same with 100 ms mock latency, throughput via concurrency       (target ≥ 1,000/s)
//   4. end-to-end accept → SUCCEEDED latency at 200 notifications/s × 4 channels, relay and four
//      dispatchers as separate processes (target p50 ≤ 50 ms, p99 ≤ 250 ms), from the commit of
//      the accepting transaction to the commit of the outcome's (timed by the dispatcher's own
//      "delivery dispatched" log line, written after that commit), next to the raw
//      Kafka produce → consume latency measured at the same time (the floor). The database
//      first gets BENCH_E2E_HISTORY (20,000) delivered notifications and an ANALYZE, a hub in
//      its steady state; the load is written with ingest-api's group commit (ADR 0007).
// Everything runs on 127.0.0.1 in a fresh database and a private topic namespace, both removed
// at the end; every phase is bounded and the script exits by itself.
//
//   npm run bench:delivery
//   BENCH_RELAY_ROWS=100000 BENCH_E2E_SECONDS=30 npm run bench:delivery
//   BENCH_PHASES=relay,zero npm run bench:delivery      (only some phases)
//   BENCH_E2E_HISTORY=0 npm run bench:delivery          (end to end on an empty, unanalyzed database)
//   BENCH_FLOOR_INTERVAL_MS=100 npm run bench:delivery   (fewer raw Kafka probes: the probe itself costs ~6% of the box)
//   BENCH_CPU_PROF=<dir> npm run bench:delivery          (V8 CPU profiles of the end-to-end processes)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { sql } from 'kysely';
import { pino } from 'pino';
import { CHANNELS, type Channel } from '@hub/domain';
import { createDb, insertOutboxRows, migrateToLatest, newId, openPostgres, type DbHandle } from '@hub/db';
import { Dispatcher, ProtectedVendor } from '@hub/dispatching';
import { createKafka, createProducer, createTopics, deleteTopicsWithPrefix, ensureTopics, makeEvent, type DeliveryRequested } from '@hub/messaging';
import { createMetricsRegistry } from '@hub/observability';
import { MockVendor } from '@hub/vendors';
import { OutboxRelay } from '../../services/outbox-relay/src/relay.ts';
import { bundleServices, serviceEntry } from '../../deploy/build/bundle.ts';
import { untilReady } from '../../shared/testing/src/children.ts';
import { freePort } from '../../shared/testing/src/ports.ts';
import { seedNotification, seedNotifications } from '../../shared/testing/src/seed.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const RELAY_ROWS = env('BENCH_RELAY_ROWS', 60_000);
const RELAY_BATCH = env('BENCH_RELAY_BATCH', 1_000);
const RELAY_PUBLISHERS = env('BENCH_RELAY_PUBLISHERS', 2);
const DISPATCH_ZERO = env('BENCH_DISPATCH_ROWS', 20_000);
const DISPATCH_SLOW = env('BENCH_DISPATCH_SLOW_ROWS', 8_000);
// Both default to the service's DISPATCH_CONCURRENCY default, so the numbers are what ships.
const ZERO_CONCURRENCY = env('BENCH_ZERO_CONCURRENCY', 256);
const SLOW_CONCURRENCY = env('BENCH_SLOW_CONCURRENCY', 256);
const E2E_RATE = env('BENCH_E2E_RATE', 200);
const E2E_SECONDS = env('BENCH_E2E_SECONDS', 15);
// Delivered notifications already in the database when the end-to-end phase starts (0 for none).
const E2E_HISTORY = env('BENCH_E2E_HISTORY', 20_000);
const PHASE_TIMEOUT_MS = env('BENCH_PHASE_TIMEOUT_MS', 120_000);
// Milliseconds between two raw Kafka latency probes during the end-to-end phase.
const FLOOR_INTERVAL_MS = env('BENCH_FLOOR_INTERVAL_MS', 20);
// The end-to-end phase's services run on their defaults; these, when set for the bench, are
// passed to them to measure a tuning (e.g. RELAY_PUBLISHERS=4 npm run bench:delivery).
const SERVICE_TUNING: Record<string, string> = Object.fromEntries(
  ['RELAY_PUBLISHERS', 'RELAY_BATCH_SIZE', 'DISPATCH_CONCURRENCY', 'DISPATCH_PRIORITY_CONCURRENCY', 'DATABASE_POOL_MAX', 'RELAY_LINGER_MS', 'DISPATCH_FETCH_LINGER_MS'].flatMap((name) =>
    process.env[name] ? [[name, process.env[name]]] : [],
  ),
);

// Comma-separated subset of relay,zero,slow,e2e (default: all), to measure one phase repeatedly.
const PHASES = new Set((process.env.BENCH_PHASES ?? 'relay,zero,slow,e2e').split(',').map((p) => p.trim()));

const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const id = randomBytes(3).toString('hex');
const dbName = `hub_bench_delivery_${id}`;
const namespace = `bench${id}`;
const logger = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'warn' });
const topics = createTopics(namespace);
const kafka = createKafka({ brokers, clientId: `bench-${id}`, logger });
const children: ChildProcess[] = [];
/** Spawned services by name, for the CPU line of the end-to-end phase. */
const servicePids = new Map<string, number>();
/** Started in-process components, stopped on any exit path before the clients close. */
const running = new Set<{ stop: () => Promise<void> }>();
const progress = (message: string) => console.error(`[bench:delivery ${new Date().toISOString().slice(11, 19)}] ${message}`);

const admin = openPostgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database "${dbName}"`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const database = createDb({ url: url.toString(), max: 20, applicationName: 'bench-delivery' });
const producer = createProducer(kafka);
const results: string[] = [];
const print = (line: string) => {
  results.push(line);
  console.log(line);
};

try {
  await migrateToLatest(database.db);
  await ensureTopics(kafka, [...topics.all(), `${namespace}.bench.latency`], { partitions: 8 });
  await producer.connect();
  print(`[bench:delivery] indicative numbers (2 shared cores, everything on one box); db ${dbName}, namespace ${namespace}`);
  if (PHASES.has('relay')) await benchRelay(database);
  if (PHASES.has('zero')) {
    await benchDispatcher(database, { rows: DISPATCH_ZERO, latencyMs: 0, concurrency: ZERO_CONCURRENCY, label: 'zero-latency mock', target: 5_000 });
  }
  if (PHASES.has('slow')) {
    await benchDispatcher(database, { rows: DISPATCH_SLOW, latencyMs: 100, concurrency: SLOW_CONCURRENCY, label: '100 ms mock', target: 1_000 });
  }
  if (PHASES.has('e2e')) await benchEndToEnd(database);
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  for (const component of running) await component.stop().catch(() => {});
  for (const child of children) child.kill('SIGKILL');
  await producer.disconnect().catch(() => {});
  await database.close();
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`).catch(() => {});
  await admin.end();
  await deleteTopicsWithPrefix(kafka, `${namespace}.`).catch((err) => console.error('[bench:delivery] could not delete its topics', err));
}
process.exit(process.exitCode ?? 0);

function relay(db: DbHandle, registry = createMetricsRegistry('bench-relay')): OutboxRelay {
  const r = new OutboxRelay(
    { db: db.db, sql: db.sql, producer, topics, logger, registry },
    {
      batchSize: RELAY_BATCH,
      publishers: RELAY_PUBLISHERS,
      pollIntervalMs: 200,
      maintenanceIntervalMs: 500,
      maintenanceBatchSize: 500,
      housekeepingIntervalMs: 3_600_000,
      retentionMs: 3_600_000,
      backoff: { baseMs: 1_000, maxMs: 60_000 },
    },
  );
  running.add(r);
  return r;
}

async function waitFor(description: string, probe: () => Promise<boolean>, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`bench phase timed out: ${description}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function count(db: DbHandle, query: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`${sql.raw(query)}`.execute(db.db);
  return rows[0]!.n;
}

async function benchRelay(db: DbHandle): Promise<void> {
  const now = new Date();
  for (let i = 0; i < RELAY_ROWS; i += 1_000) {
    await db.db.transaction().execute((tx) =>
      insertOutboxRows(
        tx,
        Array.from({ length: Math.min(1_000, RELAY_ROWS - i) }, (_, j) => {
          const channel = CHANNELS[(i + j) % 4]!;
          return {
            topic: topics.delivery(channel, false),
            key: `recipient-${(i + j) % 1_000}`,
            payload: makeEvent<DeliveryRequested>(
              'delivery.requested',
              { attemptId: newId(), notificationId: newId(), channel, priority: false, retryCount: 0 },
              now,
            ),
          };
        }),
      ),
    );
  }
  progress(`outbox pre-filled with ${RELAY_ROWS} rows`);
  const r = relay(db);
  const started = performance.now();
  await r.start();
  await waitFor('outbox drained', async () => (await count(db, 'select count(*)::int as n from outbox where published_at is null')) === 0, 20);
  const seconds = (performance.now() - started) / 1_000;
  await r.stop();
  running.delete(r);
  print(`relay (batch ${RELAY_BATCH}, ${RELAY_PUBLISHERS} publishers): ${RELAY_ROWS} outbox rows → Kafka in ${seconds.toFixed(2)} s = ${Math.round(RELAY_ROWS / seconds)} events/s (target ≥ 20,000/s)`);
  await db.db.deleteFrom('outbox').execute();
}

async function benchDispatcher(
  db: DbHandle,
  options: { rows: number; latencyMs: number; concurrency: number; label: string; target: number },
): Promise<void> {
  const channel: Channel = options.latencyMs === 0 ? 'PUSH' : 'EMAIL';
  for (let i = 0; i < options.rows; i += 2_000) {
    await seedNotifications(
      db.db,
      topics,
      Array.from({ length: Math.min(2_000, options.rows - i) }, (_, j) => ({
        kind: 'MARKETING' as const,
        recipientId: `bench-${(i + j) % 500}`,
        deliveries: [{ channel, address: channel === 'PUSH' ? `bench-token-${i + j}-${'x'.repeat(32)}` : `user${i + j}@example.com` }],
      })),
    );
  }
  // Everything on Kafka first, so the dispatcher is measured alone.
  const r = relay(db);
  await r.start();
  progress(`${options.rows} ${channel} deliveries seeded`);
  await waitFor('deliveries published', async () => (await count(db, 'select count(*)::int as n from outbox where published_at is null')) === 0);
  await r.stop();
  running.delete(r);
  progress('deliveries on Kafka; starting the dispatcher');
  const dispatcher = new Dispatcher({
    channel,
    db: db.db,
    kafka,
    producer,
    topics,
    vendor: new ProtectedVendor(
      new MockVendor({ channel, latencyMs: options.latencyMs, failureMix: { transient: 0, permanent: 0, invalid_recipient: 0 } }),
      { attempts: 3, timeoutMs: 5_000, breaker: { errorThresholdPercentage: 50, volumeThreshold: 20, resetTimeoutMs: 10_000 } },
    ),
    logger,
    registry: createMetricsRegistry('bench-dispatcher'),
    bulkConcurrency: options.concurrency,
    priorityConcurrency: 8,
    retryConcurrency: 8,
    leaseMs: 60_000,
    backoff: { baseMs: 1_000, maxMs: 60_000 },
  });
  running.add(dispatcher);
  await dispatcher.start();
  // Timed from the first success (group join and partition assignment are not throughput).
  await waitFor('first delivery', async () => (await count(db, `select count(*)::int as n from delivery_attempts where channel = '${channel}' and status = 'SUCCEEDED'`)) > 0, 10);
  const startedAt = performance.now();
  const startedCount = await count(db, `select count(*)::int as n from delivery_attempts where channel = '${channel}' and status = 'SUCCEEDED'`);
  await waitFor(
    'all delivered',
    async () => (await count(db, `select count(*)::int as n from delivery_attempts where channel = '${channel}' and status = 'SUCCEEDED'`)) === options.rows,
    25,
  );
  const seconds = (performance.now() - startedAt) / 1_000;
  await dispatcher.stop();
  running.delete(dispatcher);
  const rate = Math.round((options.rows - startedCount) / seconds);
  print(
    `dispatcher (${options.label}, concurrency ${options.concurrency}): ${options.rows - startedCount} deliveries in ${seconds.toFixed(2)} s = ${rate} deliveries/s per instance (target ≥ ${options.target.toLocaleString('en')}/s)`,
  );
}

/**
 * Starts a service as its own process. With `onDispatched`, the service logs at debug level and
 * every "delivery dispatched" line (written once the outcome's transaction has committed) is
 * passed on with its time: when the SUCCEEDED row became visible, measured by the process that
 * committed it.
 */
async function spawnService(service: string, onDispatched?: (attemptId: string, at: number) => void): Promise<void> {
  const port = await freePort();
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF, service)}`] : [];
  // As production runs it: its bundle, built from these sources.
  await bundleServices([service]);
  const child = spawn(process.execPath, [...profile, '--disable-warning=TimeoutNegativeWarning', serviceEntry(service)], {
    env: {
      ...SERVICE_TUNING,
      PATH: process.env.PATH ?? '',
      DATABASE_URL: url.toString(),
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_NAMESPACE: namespace,
      PORT: String(port),
      LOG_LEVEL: onDispatched ? 'debug' : 'warn',
      VENDOR_MODE: 'mock',
    },
    stdio: ['ignore', onDispatched ? 'pipe' : 'ignore', 'inherit'],
  });
  children.push(child);
  if (child.pid !== undefined) servicePids.set(service, child.pid);
  if (onDispatched) {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.includes('"msg":"delivery dispatched"')) {
        if (line.includes('"level":40') || line.includes('"level":50') || line.includes('"level":60')) process.stderr.write(`${line}\n`);
        return;
      }
      const entry = JSON.parse(line) as { time: string; attemptId: string };
      onDispatched(entry.attemptId, Date.parse(entry.time));
    });
  }
  const state = await untilReady(child, `http://127.0.0.1:${port}`, { description: `bench phase: ${service} ready`, timeoutMs: PHASE_TIMEOUT_MS, intervalMs: 200 });
  if (state === 'exited') throw new Error(`${service} exited with ${child.exitCode ?? child.signalCode} before it was ready`);
}

interface CpuSample {
  /** Busy CPU ticks of the whole machine, all cores (user + nice + system + irq + softirq + steal). */
  busy: number;
  total: number;
  /** CPU ticks used so far by each spawned service and by this process. */
  processes: Map<string, number>;
}

/** From /proc (Linux); undefined where it cannot be read, and the CPU line is left out. */
function cpuSample(): CpuSample | undefined {
  try {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    const ticks = fields.map(Number);
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    const busy = total - ticks[3]! - ticks[4]!;
    const processes = new Map<string, number>();
    for (const [name, pid] of [...servicePids, ['bench (load, probe, log reader)', process.pid] as const]) {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      processes.set(name, Number(after[11]) + Number(after[12]));
    }
    return { busy, total, processes };
  } catch {
    return undefined;
  }
}

/** Where the CPU went while the load was offered: the machine's busy share, then each process in % of one core. */
function describeCpu(before: CpuSample, after: CpuSample): string {
  const cores = os.availableParallelism();
  const elapsed = (after.total - before.total) / cores;
  const ofOneCore = (ticks: number) => `${((100 * ticks) / elapsed).toFixed(0)}%`;
  const parts = [...after.processes].map(([name, ticks]) => ({ name, ticks: ticks - (before.processes.get(name) ?? ticks) }));
  const ours = parts.reduce((sum, p) => sum + p.ticks, 0);
  return (
    `CPU while offering the load: machine ${((100 * (after.busy - before.busy)) / (after.total - before.total)).toFixed(0)}% busy of ${cores} cores; ` +
    `in % of one core: ${parts.map((p) => `${p.name.replace(/^dispatcher-/, '')} ${ofOneCore(p.ticks)}`).join(', ')}; ` +
    `everything else (Postgres, Kafka, the rest of the box) ${ofOneCore(after.busy - before.busy - ours)}`
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * A hub that has been running for a while: `count` completed 4-channel notifications with
 * their published outbox rows, then ANALYZE (as pgbench vacuums before a run). Without it the
 * phase measures a brand-new database whose statistics say every table is empty, and the
 * plans Postgres caches in the first seconds (sequential scans of "tiny" tables) stay for the
 * whole run while the tables grow: a first-minute-after-deploy effect, not the steady state.
 */
async function seedHistory(db: DbHandle, count: number): Promise<void> {
  if (count <= 0) return;
  progress(`seeding ${count} delivered notifications as history, then ANALYZE`);
  await db.sql.begin(async (tx) => {
    await tx`
      insert into notifications (id, recipient_id, kind, title, body, status, idempotency_key, created_at, updated_at, completed_at)
      select gen_random_uuid(), 'history-' || (i % 1000), 'MARKETING', 'title', 'body', 'COMPLETED', 'history-' || i,
             now() - interval '1 day', now() - interval '1 day', now() - interval '1 day'
      from generate_series(1, ${count}) as i`;
    await tx`
      insert into delivery_attempts (id, notification_id, channel, address, status, rendered_title, rendered_body,
                                     vendor_message_id, created_at, updated_at, dispatched_at, completed_at)
      select gen_random_uuid(), n.id, c.channel, 'history@example.com', 'SUCCEEDED', 'title', 'body', 'mock-history',
             n.created_at, n.created_at, n.created_at, n.created_at
      from notifications n cross join unnest(array['PUSH', 'EMAIL', 'SMS', 'KAKAO_ALIMTALK']) as c(channel)`;
    await tx`
      insert into outbox (id, topic, message_key, payload, available_at, created_at, published_at, publish_attempts)
      select gen_random_uuid(), ${topics.vendorResult}, a.notification_id::text, jsonb_build_object('attemptId', a.id),
             a.created_at, a.created_at, a.created_at, 1
      from delivery_attempts a`;
  });
  await db.sql`analyze`;
}

async function benchEndToEnd(db: DbHandle): Promise<void> {
  await seedHistory(db, E2E_HISTORY);
  const tuning = Object.entries(SERVICE_TUNING).map(([name, value]) => `${name}=${value}`);
  progress(`starting the relay and four dispatchers as processes (${tuning.length > 0 ? tuning.join(' ') : 'service defaults'})`);
  const committed = new Map<string, number>();
  const onDispatched = (attemptId: string, at: number) => committed.set(attemptId, at);
  await Promise.all([
    spawnService('outbox-relay'),
    ...['dispatcher-push', 'dispatcher-email', 'dispatcher-sms', 'dispatcher-kakao'].map((service) => spawnService(service, onDispatched)),
  ]);
  // Warm-up: one notification through every lane, so group joins are not in the numbers.
  const warm = await seedNotification(db.db, topics, {
    kind: 'MARKETING',
    deliveries: CHANNELS.map((channel) => ({ channel, address: channel === 'EMAIL' ? 'warm@example.com' : channel === 'PUSH' ? `warm-${'x'.repeat(32)}` : '+821000000000' })),
  });
  await waitFor('warm-up delivered', async () => (await count(db, `select count(*)::int as n from delivery_attempts where notification_id = '${warm.notificationId}' and status = 'SUCCEEDED'`)) === 4, 50);

  // Raw Kafka floor, measured alongside: one message every 20 ms, produce → consume (often
  // enough for its percentiles, rare enough not to load the system it is measured next to).
  const latencyTopic = `${namespace}.bench.latency`;
  const kafkaLatencies: number[] = [];
  const consumer = kafka.consumer({ groupId: `${namespace}-bench-latency`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [latencyTopic], fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ message }) => {
      kafkaLatencies.push(performance.timeOrigin + performance.now() - Number(message.value!.toString()));
    },
  });
  await new Promise((r) => setTimeout(r, 3_000));
  const floorProducer = createProducer(kafka);
  await floorProducer.connect();
  let probing = true;
  const probe = (async () => {
    while (probing) {
      await floorProducer.send({ topic: latencyTopic, messages: [{ value: String(performance.timeOrigin + performance.now()) }] });
      await new Promise((r) => setTimeout(r, FLOOR_INTERVAL_MS));
    }
  })();

  // The load is written as ingest-api writes it (ADR 0007): group commit, WRITE_CONCURRENCY (2)
  // transactions in flight, arrivals meanwhile share the next one; a notification counts as
  // accepted when its transaction commits. Its recipients exist beforehand, as they would.
  const recipientIds = Array.from({ length: 1_000 }, (_, i) => `e2e-${i}`);
  await sql`
    insert into recipients (id, channels)
    select id, jsonb_build_array(jsonb_build_object('type', 'SMS', 'address', '+821000000000'))
    from unnest(${recipientIds}::text[]) as id
    on conflict (id) do nothing`.execute(db.db);
  progress(`offering ${E2E_RATE} notifications/s for ${E2E_SECONDS} s`);
  const accepted = new Map<string, number>();
  const total = E2E_RATE * E2E_SECONDS;
  const intervalMs = 1_000 / E2E_RATE;
  const waiting: Parameters<typeof seedNotifications>[2] = [];
  const writes = new Set<Promise<void>>();
  const write = () => {
    while (writes.size < 2 && waiting.length > 0) {
      const batch = waiting.splice(0, 64);
      const done: Promise<void> = seedNotifications(db.db, topics, batch, { recipients: 'existing' })
        .then((seeded) => {
          const now = Date.now();
          for (const n of seeded) accepted.set(n.notificationId, now);
        })
        .finally(() => {
          writes.delete(done);
          write();
        });
      writes.add(done);
    }
  };
  const cpuBefore = cpuSample();
  const began = performance.now();
  for (let i = 0; i < total; i++) {
    const due = began + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    waiting.push({
      kind: i % 2 === 0 ? 'SECURITY' : 'MARKETING',
      recipientId: recipientIds[i % recipientIds.length]!,
      deliveries: [
        { channel: 'PUSH', address: `e2e-token-${i}-${'x'.repeat(32)}` },
        { channel: 'EMAIL', address: `e2e${i}@example.com` },
        { channel: 'SMS', address: `+8210${String(i).padStart(8, '0')}` },
        { channel: 'KAKAO_ALIMTALK', address: `+8210${String(i).padStart(8, '0')}` },
      ],
    });
    write();
  }
  while (writes.size > 0 || waiting.length > 0) await Promise.race([...writes]);
  const offered = total / ((performance.now() - began) / 1_000);
  const cpuAfter = cpuSample();
  await waitFor(
    'all end-to-end deliveries final',
    async () => (await count(db, `select count(*)::int as n from delivery_attempts where status <> 'SUCCEEDED' and notification_id <> '${warm.notificationId}'`)) === 0,
    200,
  );
  probing = false;
  await probe;
  await floorProducer.disconnect();
  await consumer.disconnect();

  // Accepted: the load's transaction returned from COMMIT. SUCCEEDED: the dispatcher's outcome
  // transaction returned from COMMIT (its log line). Both on this machine's clock.
  const rows = (await db.db.selectFrom('delivery_attempts').select(['id', 'notification_id', 'completed_at']).execute()).filter((r) => accepted.has(r.notification_id));
  const measured = rows.filter((r) => committed.has(r.id));
  const latencies = measured.map((r) => committed.get(r.id)! - accepted.get(r.notification_id)!).sort((a, b) => a - b);
  // completed_at is taken when the outcome transaction starts: the rest is its commit and the
  // handler's return (a contended notification's completion included).
  const finishing = measured.map((r) => committed.get(r.id)! - r.completed_at!.getTime()).sort((a, b) => a - b);
  kafkaLatencies.sort((a, b) => a - b);
  if (measured.length < rows.length) progress(`${rows.length - measured.length} of ${rows.length} deliveries have no commit time (no log line) and are left out`);
  print(
    `end-to-end accept → SUCCEEDED committed at ${offered.toFixed(0)} notifications/s × 4 channels for ${E2E_SECONDS} s (${latencies.length} deliveries): ` +
      `p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${latencies.at(-1)} ms (target p50 ≤ 50, p99 ≤ 250)`,
  );
  // Where the time goes, per delivery, from the database's timestamps: the outbox row's
  // created_at and published_at are transaction start times (now()), so 'relay' also holds the
  // writing transaction and 'kafka → claim' the relay's send and commit.
  const { rows: stages } = await sql<{ stage: string; p50: number; p99: number }>`
    with d as (
      select extract(epoch from o.published_at - o.created_at) * 1000 as relay,
             extract(epoch from a.dispatched_at - o.published_at) * 1000 as kafka,
             extract(epoch from a.completed_at - a.dispatched_at) * 1000 as dispatch
      from delivery_attempts a join outbox o on (o.payload->>'attemptId')::uuid = a.id and o.topic like '%.delivery.%'
      where a.notification_id = any(${[...accepted.keys()]}::uuid[]))
    select 'relay' as stage, percentile_cont(0.5) within group (order by relay) as p50, percentile_cont(0.99) within group (order by relay) as p99 from d
    union all select 'kafka → claim', percentile_cont(0.5) within group (order by kafka), percentile_cont(0.99) within group (order by kafka) from d
    union all select 'claim → outcome', percentile_cont(0.5) within group (order by dispatch), percentile_cont(0.99) within group (order by dispatch) from d`.execute(
    db.db,
  );
  print(
    `  stages (outbox write → relay claim → dispatcher claim → outcome → committed): ${stages.map((s) => `${s.stage} p50 ${Number(s.p50).toFixed(0)} / p99 ${Number(s.p99).toFixed(0)} ms`).join('; ')}; ` +
      `outcome → committed p50 ${percentile(finishing, 50)} / p99 ${percentile(finishing, 99)} ms`,
  );
  print(
    `raw Kafka produce → consume, same run (${kafkaLatencies.length} probes): p50 ${percentile(kafkaLatencies, 50).toFixed(1)} ms, ` +
      `p99 ${percentile(kafkaLatencies, 99).toFixed(1)} ms`,
  );
  if (cpuBefore && cpuAfter) print(`  ${describeCpu(cpuBefore, cpuAfter)}`);
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
  children.length = 0;
}
