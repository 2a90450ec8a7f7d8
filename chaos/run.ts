// The chaos suite (`npm run chaos`): the whole hub as separate processes against a counting vendor,
// a careful client offering SECURITY notifications open-loop, and faults while it runs — SIGKILL
// and SIGTERM of services, a Kafka broker restart, a Redis restart without persistence (or, with
// --outage, a long vendor outage). Then it waits until everything is final and prints what was
// lost, duplicated or left behind, with a closing `chaos: N passed, N failed`.
//
//   npm run chaos                                  5,000 notifications at 100/s, every fault
//   npm run chaos -- --short                       600 at 50/s, one fault of each kind (CI)
//   npm run chaos -- --notifications 2000 --rate 50
//   npm run chaos -- --replicas 2                  two of every service, shared vendor send-rate cap
//   npm run chaos -- --outage --outage-seconds 300 the vendor answers 503 for 5 minutes
//   npm run chaos -- --idempotency                 40 keys × 200 concurrent repeats while Redis
//                                                  loses its idempotency entries in a loop
//
// Everything runs on 127.0.0.1: a fresh database on the shared Postgres (dropped at the end), and
// a PRIVATE Kafka broker (deploy/local/kafka.sh with its own state dir and ports) and a PRIVATE
// redis-server on free ports, so restarting them never disturbs anyone else on the machine. Only
// processes it started are ended, each by its PID. Service logs stay in /tmp/notification-hub-chaos-<id>/logs.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { pino } from 'pino';
import { CHANNELS, type Channel } from '@hub/domain';
import { createDb, migrateToLatest, openPostgres, type DbHandle } from '@hub/db';
import { createKafka, createTopics, ensureTopics } from '@hub/messaging';
import { bundleServices, serviceEntry } from '../deploy/build/bundle.ts';
import { freePort } from '../shared/testing/src/ports.ts';
import { CountingVendor, vendorSlot } from './counting-vendor.ts';
import { idempotencyDrill } from './idempotency-drill.ts';
import { emptyFaultLog, runFaults, type FaultPlan, type Hub } from './faults.ts';
import { CarefulClient, offerOpenLoop, type OfferStats, type RequestOutcome } from './load.ts';
import { EventLog, ManagedProcess, PrivateKafka, httpOk, now, redisPing, repoRoot } from './processes.ts';
import { attemptResolver, countBy, findDuplicates, firstSendAfter, killRetries, resetsDuring, sendRates, type AttemptRow } from './report.ts';
import type { SendRecord } from './vendor-protocol.ts';

// ------------------------------------------------------------------ options

const { values: flags } = parseArgs({
  options: {
    notifications: { type: 'string' },
    rate: { type: 'string' },
    replicas: { type: 'string', default: '1' },
    outage: { type: 'boolean', default: false },
    'outage-seconds': { type: 'string', default: '300' },
    short: { type: 'boolean', default: false },
    idempotency: { type: 'boolean', default: false },
    'drill-keys': { type: 'string', default: '40' },
    'drill-requests': { type: 'string', default: '200' },
    'drain-seconds': { type: 'string' },
    'vendor-latency-ms': { type: 'string', default: '20-120' },
    'vendor-rate': { type: 'string', default: '40' },
    recipients: { type: 'string', default: '100' },
    // Notifications per second offered after the main load while faults are still running (the
    // broker restart and the last kills' retries need traffic to be measured); 0 for none.
    'tail-rate': { type: 'string', default: '5' },
    'pool-max': { type: 'string' },
    // A baseline: the same load with no fault at all (to tell the faults' effects from the load's).
    'no-faults': { type: 'boolean', default: false },
  },
  strict: true,
});

const int = (name: string, value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${value}`);
  return n;
};

const replicas = int('replicas', flags.replicas, 1);
if (replicas < 1 || replicas > 4) throw new Error('--replicas must be 1 to 4');
const outageSeconds = flags.outage ? int('outage-seconds', flags['outage-seconds'], 300) : 0;
const mode = flags.idempotency ? 'idempotency' : flags.outage ? 'outage' : flags.short ? 'short' : 'full';
// Outage: a modest load spread over the whole outage. Replicas: above the vendor cap so it binds.
const defaultRate = mode === 'outage' ? 2 : mode === 'short' ? 50 : replicas > 1 ? 50 : 100;
const rate = int('rate', flags.rate, defaultRate);
const defaultCount = mode === 'outage' ? Math.round(rate * (outageSeconds + 20)) : mode === 'short' ? 600 : replicas > 1 ? 2_500 : 5_000;
const notifications = int('notifications', flags.notifications, defaultCount);
const drainSeconds = int('drain-seconds', flags['drain-seconds'], mode === 'outage' ? 900 : 300);
const [latencyMinMs, latencyMaxMs] = (flags['vendor-latency-ms'] ?? '20-120').split('-').map(Number) as [number, number];
const vendorRate = replicas > 1 ? int('vendor-rate', flags['vendor-rate'], 40) : 0;
const recipientCount = Math.max(1, int('recipients', flags.recipients, 100));
const tailRate = mode === 'outage' ? 0 : int('tail-rate', flags['tail-rate'], 5);
const TAIL_MAX_SECONDS = 240;
// Every service's pool: the shared Postgres allows 100 connections for everyone on the machine.
const poolMax = int('pool-max', flags['pool-max'], replicas > 1 ? 3 : 4);

const plan: FaultPlan = flags['no-faults']
  ? { dispatcherKills: 0, relayKills: 0, ingestKills: 0, adminKills: 0, ingestTerms: 0, dispatcherTerms: 0, brokerRestart: false, redisRestart: false, outageSeconds: 0 }
  : mode === 'outage'
    ? { dispatcherKills: 0, relayKills: 0, ingestKills: 0, adminKills: 0, ingestTerms: 0, dispatcherTerms: 0, brokerRestart: false, redisRestart: false, outageSeconds }
    : mode === 'short'
      ? { dispatcherKills: 1, relayKills: 1, ingestKills: 1, adminKills: 1, ingestTerms: 1, dispatcherTerms: 1, brokerRestart: true, redisRestart: true, outageSeconds: 0 }
      : { dispatcherKills: 3, relayKills: 3, ingestKills: 3, adminKills: 3, ingestTerms: 1, dispatcherTerms: 1, brokerRestart: true, redisRestart: true, outageSeconds: 0 };

const CLIENT_DEADLINE_MS = 90_000;
const KILL_RETRY_TARGET_S = 30;
const BROKER_TARGET_S = 10;

// ------------------------------------------------------------------ run state

const runId = randomBytes(3).toString('hex');
const workDir = path.join(os.tmpdir(), `notification-hub-chaos-${runId}`);
const logDir = path.join(workDir, 'logs');
mkdirSync(logDir, { recursive: true });
const runStart = now();
const t = (at: number | undefined) => (at === undefined ? '—' : `${((at - runStart) / 1000).toFixed(1)} s`);
const progress = (line: string) => console.error(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`);
const events = new EventLog(progress, () => runStart);
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `hub_chaos_${runId}`;
const namespace = `chaos${runId}`;
const redisPrefix = `chaos${runId}:`;
const cleanups: (() => Promise<void>)[] = [];
const services: ManagedProcess[] = [];
let stopped = false;

// The whole run is bounded: setup, the load (with its slowest retries), the faults, the drain.
const loadSeconds = notifications / rate;
const hardDeadlineMs = (420 + loadSeconds * 1.5 + TAIL_MAX_SECONDS + outageSeconds + CLIENT_DEADLINE_MS / 1000 + drainSeconds + 180) * 1000;
const hardTimer = setTimeout(() => {
  progress(`ABORT: the run exceeded its bound of ${(hardDeadlineMs / 60_000).toFixed(1)} min; cleaning up`);
  console.log('chaos: 0 passed, 1 failed');
  void shutdown(1);
}, hardDeadlineMs);
hardTimer.unref();

let shuttingDown: Promise<void> | undefined;
function shutdown(code: number): Promise<void> {
  stopped = true;
  shuttingDown ??= (async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err: unknown) => progress(`cleanup step failed: ${String(err)}`));
    }
    progress(`logs kept in ${logDir}`);
    process.exit(code);
  })();
  return shuttingDown;
}
process.on('SIGINT', () => void shutdown(130));
process.on('SIGTERM', () => void shutdown(143));

try {
  await main();
} catch (err) {
  progress(`chaos run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  console.log('chaos: 0 passed, 1 failed');
  await shutdown(1);
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  progress(
    `run ${runId}: mode ${mode}, ${notifications} notifications at ${rate}/s, ${replicas} replica(s) of each service` +
      `${vendorRate ? `, vendor cap ${vendorRate}/s` : ''}${outageSeconds ? `, vendor outage ${outageSeconds} s` : ''}; logs in ${logDir}`,
  );

  // Kafka: a private broker, so its restart is ours alone.
  const kafkaPort = await freePort();
  const controllerPort = await freePort();
  const kafka = new PrivateKafka(
    { KAFKA_STATE_DIR: path.join(workDir, 'kafka'), KAFKA_PORT: String(kafkaPort), KAFKA_CONTROLLER_PORT: String(controllerPort) },
    path.join(logDir, 'kafka.sh.log'),
  );
  cleanups.push(async () => {
    await kafka.down();
    rmSync(path.join(workDir, 'kafka'), { recursive: true, force: true });
  });
  const kafkaStarted = now();
  progress(`starting a private Kafka broker on 127.0.0.1:${kafkaPort} (deploy/local/kafka.sh, state in ${workDir}/kafka)`);
  await kafka.up();
  progress(`kafka up in ${((now() - kafkaStarted) / 1000).toFixed(1)} s`);

  // Redis: a private server without persistence.
  const redisPort = await freePort();
  const redisDir = path.join(workDir, 'redis');
  mkdirSync(redisDir, { recursive: true });
  const redis = new ManagedProcess(
    {
      slot: 'redis',
      command: 'redis-server',
      args: ['--bind', '127.0.0.1', '--port', String(redisPort), '--save', '', '--appendonly', 'no', '--dir', redisDir, '--daemonize', 'no'],
      env: {},
      logFile: path.join(logDir, 'redis.log'),
      ready: () => redisPing(redisPort),
    },
    events,
  );
  cleanups.push(async () => {
    await redis.stop();
    rmSync(redisDir, { recursive: true, force: true });
  });
  redis.start();
  if (!(await redis.waitReady(20_000))) throw new Error('redis-server did not start');
  const redisUrl = `redis://127.0.0.1:${redisPort}`;

  // Postgres: a fresh database, migrated.
  const admin = openPostgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${dbName}"`);
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${dbName}`;
  const database = createDb({ url: dbUrl.toString(), max: 3, applicationName: 'chaos' });
  cleanups.push(async () => {
    await database.close();
    await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
    await admin.end();
  });
  await migrateToLatest(database.db);
  // The services run from their bundles, as in production, built from these sources.
  await bundleServices();

  // Topics in a fresh namespace (the services never create topics).
  const topics = createTopics(namespace);
  const setupKafka = createKafka({ brokers: kafka.brokers, clientId: 'chaos-setup', logger: pino({ level: 'silent' }) });
  await ensureTopics(setupKafka, topics.all(), { partitions: 8 });

  // The counting vendor.
  const vendor = await CountingVendor.start({ latencyMinMs, latencyMaxMs, logFile: path.join(logDir, 'counting-vendor.log'), events });
  cleanups.push(() => vendor.process.stop());

  // The seven services (× replicas).
  const common = {
    DATABASE_URL: dbUrl.toString(),
    DATABASE_POOL_MAX: String(poolMax),
    LOG_LEVEL: 'info',
    KAFKA_TOPIC_NAMESPACE: namespace,
  };
  const spawnService = async (service: string, replica: number, env: Record<string, string>, channel?: Channel): Promise<ManagedProcess> => {
    const port = await freePort();
    const slot = `${service}#${replica}`;
    const proc = new ManagedProcess(
      {
        slot,
        command: process.execPath,
        args: ['--disable-warning=TimeoutNegativeWarning', serviceEntry(service)],
        // A dispatcher's vendor base URLs name its instance and generation (push-1.g2: replica 1,
        // second process), so every send is attributed to the process that made it.
        env: (generation) => ({ ...common, ...env, PORT: String(port), ...(channel ? vendor.dispatcherEnv(channel, `${vendorSlot(channel, replica)}.g${generation}`) : {}) }),
        logFile: path.join(logDir, `${service}-${replica}.log`),
        ready: () => httpOk(`http://127.0.0.1:${port}/readyz`),
        port,
      },
      events,
    );
    services.push(proc);
    proc.start();
    return proc;
  };
  cleanups.push(async () => {
    await Promise.all(services.map((s) => s.stop()));
  });
  const redisEnv = { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: redisPrefix };
  const kafkaEnv = { KAFKA_BROKERS: kafka.brokers.join(',') };
  const replicaIds = Array.from({ length: replicas }, (_, i) => i + 1);
  const hub: Hub = {
    ingest: await Promise.all(
      replicaIds.map((r) =>
        spawnService('ingest-api', r, {
          ...redisEnv,
          HOST: '127.0.0.1',
          // Limits raised so they never deny: this run is about faults, not throttling.
          RATE_LIMIT_PUSH: '1000000',
          RATE_LIMIT_EMAIL: '1000000',
          RATE_LIMIT_SMS: '1000000',
          RATE_LIMIT_KAKAO_ALIMTALK: '1000000',
        }),
      ),
    ),
    admin: await Promise.all(replicaIds.map((r) => spawnService('admin-api', r, { ...redisEnv, ADMIN_AUTH_TOKEN: `chaos-admin-${runId}-token` }))),
    // The SPEC leaves the relay's polling intervals to the operator: short ones re-drive retries
    // and recover leases promptly (the lease itself stays at its production default).
    relay: await Promise.all(replicaIds.map((r) => spawnService('outbox-relay', r, { ...kafkaEnv, RELAY_MAINTENANCE_INTERVAL_MS: '200', RELAY_POLL_INTERVAL_MS: '200' }))),
    dispatchers: Object.fromEntries(
      await Promise.all(
        CHANNELS.map(async (channel) => {
          const service = `dispatcher-${channel === 'KAKAO_ALIMTALK' ? 'kakao' : channel.toLowerCase()}`;
          const env = { ...kafkaEnv, VENDOR_MODE: 'http', ...(vendorRate > 0 ? { ...redisEnv, VENDOR_RATE_PER_SECOND: String(vendorRate) } : {}) };
          return [channel, await Promise.all(replicaIds.map((r) => spawnService(service, r, env, channel)))] as const;
        }),
      ),
    ) as Record<Channel, ManagedProcess[]>,
    redis,
    redisPort,
    kafka,
    vendor,
  };
  const notReady = (await Promise.all(services.map(async (s) => ((await s.waitReady(120_000)) ? undefined : s.slot)))).filter(Boolean);
  if (notReady.length > 0) throw new Error(`services never became ready: ${notReady.join(', ')} (see ${logDir})`);
  progress(`${services.length} service processes ready (${((now() - runStart) / 1000).toFixed(1)} s after the start)`);

  // Recipients: PUSH on two devices, EMAIL, SMS and Kakao; quiet hours off so Kakao is never dropped.
  const client = new CarefulClient(
    hub.ingest.map((p) => ({ slot: p.slot, base: `http://127.0.0.1:${p.spec.port!}` })),
    { deadlineMs: CLIENT_DEADLINE_MS, requestTimeoutMs: 15_000 },
  );
  cleanups.push(async () => client.close());
  if (mode === 'idempotency') return runDrill(database, hub);
  await setupRecipients(client);
  const deliveriesPerNotification = 5;

  // Load and faults.
  const faultLog = emptyFaultLog();
  const outcomes: RequestOutcome[] = [];
  let faults: Promise<void> = Promise.resolve();
  let faultsDone = false;
  const perChannel = (channel: Channel) => (channel === 'PUSH' ? 2 : 1);
  const cpuBefore = cpuSample([vendor.process.pid]);
  const send = async (i: number) => {
    const key = `chaos-${runId}-${i}`;
    outcomes.push(
      await client.sendNotification(key, { recipientId: `chaos-r${i % recipientCount}`, kind: 'SECURITY', title: 'Chaos check', body: `Security check ${key}` }),
    );
  };
  // After the main load, a slow tail keeps traffic flowing while faults are still running.
  let tail: Promise<OfferStats | undefined> = Promise.resolve(undefined);
  progress(`offering ${notifications} SECURITY notifications at ${rate}/s (${loadSeconds.toFixed(0)} s), faults: ${describePlan(plan)}`);
  const stats = await offerOpenLoop({
    count: notifications,
    ratePerSecond: rate,
    say: progress,
    onStart: (startedAt) => {
      faults = runFaults({
        hub,
        plan,
        loadStart: startedAt,
        loadMs: loadSeconds * 1_000,
        say: progress,
        log: faultLog,
        stopped: () => stopped,
        origin: runStart,
        backlog: async (channel) =>
          (
            await sql<{ n: number }>`
              select count(*)::int as n from delivery_attempts
              where channel = ${channel} and status = 'PENDING' and (next_attempt_at is null or next_attempt_at <= now())`.execute(database.db)
          ).rows[0]!.n,
        backlogLimit: (channel) => Math.max(50, 5 * rate * perChannel(channel)),
        groups: CHANNELS.flatMap((channel) => [topics.dispatcherGroup(channel), `${topics.dispatcherGroup(channel)}.priority`, `${topics.dispatcherGroup(channel)}.priority.retry`]),
      }).finally(() => {
        faultsDone = true;
      });
      if (tailRate > 0) {
        tail = new Promise((resolve) => setTimeout(resolve, loadSeconds * 1_000)).then(async () => {
          if (faultsDone || stopped) return undefined;
          progress(`main load offered; faults still running: tail traffic at ${tailRate}/s until they finish (at most ${TAIL_MAX_SECONDS} s)`);
          const until = now() + TAIL_MAX_SECONDS * 1_000;
          return offerOpenLoop({ count: Number.MAX_SAFE_INTEGER, ratePerSecond: tailRate, say: progress, send: (i) => send(notifications + i), until: () => faultsDone || stopped || now() > until });
        });
      }
    },
    send,
  });
  const cpuAfter = cpuSample([vendor.process.pid]);
  progress(`main load settled: ${stats.offered} requests in ${((stats.settledAt - stats.startedAt) / 1000).toFixed(1)} s; waiting for the faults to finish`);
  await faults;
  const tailStats = await tail;
  if (tailStats) progress(`tail traffic: ${tailStats.offered} more notifications`);
  const loadEnd = now();

  // Drain: every attempt final, every notification COMPLETED.
  progress(`draining (up to ${drainSeconds} s)`);
  const drain = await waitForDrain(database, drainSeconds * 1_000);
  const drainedAt = now();

  // Report (the raw material stays next to the logs, for a closer look).
  const sends = await vendor.sends();
  writeFileSync(path.join(logDir, 'vendor-sends.json'), JSON.stringify(sends));
  writeFileSync(path.join(logDir, 'client-tries.json'), JSON.stringify(client.tries));
  writeFileSync(path.join(logDir, 'faults.json'), JSON.stringify({ runStart, faultLog, events: events.events }, null, 1));
  const passed = await report({ database, outcomes, stats, tailStats, faultLog, sends, drain, loadEnd, drainedAt, cpuBefore, cpuAfter, client, deliveriesPerNotification, topics: `${namespace}.notification.delivery.` });
  await shutdown(passed ? 0 : 1);
}

/** The idempotency drill alone, then a drain: the drill's notifications must be delivered too. */
async function runDrill(database: DbHandle, hub: Hub): Promise<void> {
  const result = await idempotencyDrill({
    bases: hub.ingest.map((p) => `http://127.0.0.1:${p.spec.port!}`),
    redisUrl: `redis://127.0.0.1:${hub.redisPort}`,
    redisPrefix,
    db: database.db,
    runId,
    keys: int('drill-keys', flags['drill-keys'], 40),
    perKey: int('drill-requests', flags['drill-requests'], 200),
    hangMs: 60_000,
    say: progress,
  });
  progress('drill over; draining its deliveries');
  const drain = await waitForDrain(database, drainSeconds * 1_000);
  const checks = [...result.checks, { name: 'drill: every notification COMPLETED, 0 attempts open', ok: drain.drained, detail: `${drain.open} open, ${drain.incomplete} not COMPLETED` }];
  const lines = [...result.lines, 'checks:', ...checks.map((c) => `  ${c.ok ? 'PASS' : 'FAIL'}  ${c.name} (${c.detail})`)];
  const failed = checks.filter((c) => !c.ok).length;
  lines.push(`total time ${((now() - runStart) / 1000).toFixed(0)} s; logs in ${logDir}`, `chaos: ${checks.length - failed} passed, ${failed} failed`);
  console.log(lines.join('\n'));
  await shutdown(failed === 0 ? 0 : 1);
}

function describePlan(p: FaultPlan): string {
  if (p.outageSeconds) return `vendor outage ${p.outageSeconds} s`;
  return `SIGKILL relay ×${p.relayKills}, each dispatcher ×${p.dispatcherKills}, ingest-api ×${p.ingestKills}, admin-api ×${p.adminKills}; SIGTERM ingest-api ×${p.ingestTerms}, dispatcher-email ×${p.dispatcherTerms}; broker restart ×${p.brokerRestart ? 1 : 0}; redis restart ×${p.redisRestart ? 1 : 0}`;
}

async function setupRecipients(client: CarefulClient): Promise<void> {
  const ids = Array.from({ length: recipientCount }, (_, i) => i);
  const work = async (i: number) => {
    const id = `chaos-r${i}`;
    const phone = `+8210${String(30_000_000 + i)}`;
    await client.must('PUT', `/api/v1/recipients/${id}`, {
      channels: [
        { type: 'EMAIL', address: `chaos-r${i}@example.com` },
        { type: 'SMS', address: phone },
        { type: 'KAKAO_ALIMTALK', address: phone },
      ],
    });
    for (const device of [1, 2]) {
      await client.must('POST', '/api/v1/devices', { recipientId: id, platform: device === 1 ? 'ANDROID' : 'IOS', token: `chaos-${runId}-r${i}-device${device}-${'x'.repeat(24)}` });
    }
    await client.must('PUT', `/api/v1/users/${id}/preferences`, { disableQuietHours: true });
  };
  for (let i = 0; i < ids.length; i += 8) await Promise.all(ids.slice(i, i + 8).map(work));
}

interface DrainResult {
  drained: boolean;
  open: number;
  incomplete: number;
}

async function waitForDrain(database: DbHandle, timeoutMs: number): Promise<DrainResult> {
  const deadline = now() + timeoutMs;
  let lastNote = 0;
  for (;;) {
    const { rows } = await sql<{ open: number; incomplete: number }>`
      select (select count(*)::int from delivery_attempts where status in ('PENDING', 'DISPATCHING')) as open,
             (select count(*)::int from notifications where status <> 'COMPLETED') as incomplete`.execute(database.db);
    const { open, incomplete } = rows[0]!;
    if (open === 0 && incomplete === 0) return { drained: true, open, incomplete };
    if (now() > deadline || stopped) return { drained: false, open, incomplete };
    if (now() - lastNote > 15_000) {
      lastNote = now();
      progress(`draining: ${open} attempts PENDING/DISPATCHING, ${incomplete} notifications not COMPLETED`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

// ------------------------------------------------------------------ CPU

interface CpuSample {
  busy: number;
  total: number;
  ticks: Map<number, number>;
}

function cpuSample(pids: (number | undefined)[]): CpuSample | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const ticks = new Map<number, number>();
    for (const pid of pids) {
      if (pid === undefined) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(pid, Number(after[11]) + Number(after[12]));
    }
    return { busy: total - fields[3]! - fields[4]!, total, ticks };
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ report

interface ReportInput {
  database: DbHandle;
  outcomes: RequestOutcome[];
  stats: OfferStats;
  tailStats: OfferStats | undefined;
  faultLog: ReturnType<typeof emptyFaultLog>;
  sends: SendRecord[];
  drain: DrainResult;
  loadEnd: number;
  drainedAt: number;
  cpuBefore: CpuSample | undefined;
  cpuAfter: CpuSample | undefined;
  client: CarefulClient;
  deliveriesPerNotification: number;
  topics: string;
}

async function report(input: ReportInput): Promise<boolean> {
  const { database, outcomes, stats, faultLog, sends, drain } = input;
  const db = database.db;
  const lines: string[] = [];
  const out = (line = '') => lines.push(line);
  const checks: { name: string; ok: boolean; detail: string }[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });

  // What the client was given.
  const given = new Set(outcomes.flatMap((o) => [...o.ids]));
  const clientFailures = outcomes.filter((o) => o.failure);
  const multiKeys = outcomes.filter((o) => o.ids.size > 1);
  const known = new Set(
    given.size === 0 ? [] : (await sql<{ id: string }>`select id from notifications where id = any(${[...given]}::uuid[])`.execute(db)).rows.map((r) => r.id),
  );
  const lost = [...given].filter((id) => !known.has(id));
  const dbDuplicateKeys = (await sql<{ key: string; n: number }>`select idempotency_key as key, count(*)::int as n from notifications group by 1 having count(*) > 1`.execute(db)).rows;
  const orphans = (await sql<{ n: number }>`select count(*)::int as n from notifications where not (id = any(${[...given]}::uuid[]))`.execute(db)).rows[0]!.n;
  const attemptsByStatus = (await sql<{ status: string; n: number }>`select status, count(*)::int as n from delivery_attempts group by 1 order by 1`.execute(db)).rows;
  const notificationsByStatus = (await sql<{ status: string; n: number }>`select status, count(*)::int as n from notifications group by 1 order by 1`.execute(db)).rows;
  const notCompleted = notificationsByStatus.filter((r) => r.status !== 'COMPLETED').reduce((a, r) => a + r.n, 0);
  const open = attemptsByStatus.filter((r) => r.status === 'PENDING' || r.status === 'DISPATCHING').reduce((a, r) => a + r.n, 0);
  const attempts = (
    await sql<AttemptRow>`
      select a.id, a.notification_id, a.channel, a.status, a.retry_count, n.idempotency_key, a.completed_at
      from delivery_attempts a join notifications n on n.id = a.notification_id`.execute(db)
  ).rows;
  const retryHistogram = countBy(attempts, (a) => String(a.retry_count));
  const exhausted = attempts.filter((a) => a.status === 'EXHAUSTED');
  const attemptOf = attemptResolver(attempts);
  const unmatchedSends = sends.filter((s) => attemptOf(s) === undefined);
  const acceptedPerAttempt = countBy(sends.filter((s) => s.accepted && attemptOf(s)), (s) => attemptOf(s)!);
  const succeededUnseen = attempts.filter((a) => a.status === 'SUCCEEDED' && !acceptedPerAttempt.has(a.id));
  const short202 = outcomes.filter((o) => o.deliveries !== undefined && o.deliveries !== input.deliveriesPerNotification).length;

  const kills = faultLog.dispatcherKills.map((k) => ({ vendorSlot: k.vendorSlot, at: k.at }));
  const completedAt = new Map(attempts.map((a) => [a.id, a.completed_at?.getTime() ?? null]));
  const duplicates = findDuplicates(sends, attemptOf, kills, (id) => completedAt.get(id) ?? null);
  const explained = duplicates.filter((d) => d.explained);
  const unexplained = duplicates.filter((d) => !d.explained);

  out('');
  out(`=== chaos summary (run ${runId}, mode ${mode}, ${replicas} replica(s), ${notifications} notifications offered at ${rate}/s${input.tailStats ? ` + ${input.tailStats.offered} tail notifications at ${tailRate}/s while faults ran on` : ''}) ===`);
  out(`notifications accepted (ids given to the client): ${given.size} of ${outcomes.length} requests`);
  out(`lost (given to the client, not in Postgres): ${lost.length}${lost.length ? ` e.g. ${lost.slice(0, 5).join(', ')}` : ''}`);
  out(`keys with more than one notification: ${multiKeys.length} seen by the client, ${dbDuplicateKeys.length} in Postgres`);
  out(`notifications in Postgres the client was never told about: ${orphans}`);
  out(`notifications by status: ${notificationsByStatus.map((r) => `${r.status} ${r.n}`).join(', ')}`);
  out(`attempts by status: ${attemptsByStatus.map((r) => `${r.status} ${r.n}`).join(', ')} (retry counts: ${[...retryHistogram].sort().map(([k, v]) => `${k}:${v}`).join(' ')})`);
  out(`notifications not COMPLETED: ${notCompleted}`);
  out(`attempts left PENDING/DISPATCHING: ${open}`);
  out(`202 answers listing other than ${input.deliveriesPerNotification} deliveries: ${short202}`);
  out(`client requests that failed after retries: ${clientFailures.length}${clientFailures.length ? ` e.g. ${clientFailures.slice(0, 3).map((f) => `${f.key}: ${f.failure}`).join(' | ')}` : ''}`);
  const tries = input.client.tries.filter((x) => !x.key.startsWith('setup '));
  const tryOutcomes = countBy(tries, (x) => (x.error ? `error ${x.error}` : `${x.status}${x.code && x.status !== 202 ? ` ${x.code}` : ''}`));
  out(`client HTTP requests: ${tries.length} (${[...tryOutcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ')})`);
  const slowest = outcomes.reduce((m, o) => Math.max(m, o.doneAt - o.firstAt), 0);
  out(`client: most tries for one request ${Math.max(0, ...outcomes.map((o) => o.tries))}, slowest request ${(slowest / 1000).toFixed(1)} s (deadline ${CLIENT_DEADLINE_MS / 1000} s)`);
  out(`vendor sends: ${sends.length} requests, ${sends.filter((s) => s.accepted).length} accepted; not matched to an attempt: ${unmatchedSends.length}; SUCCEEDED attempts the vendor never accepted: ${succeededUnseen.length}`);
  const afterAnswer = explained.filter((d) => d.answeredBeforeKill).length;
  out(
    `attempts sent to the vendor more than once (accepted ≥ 2): ${duplicates.length} — in flight at a SIGKILL of its dispatcher: ${explained.length} ` +
      `(${explained.length - afterAnswer} still at the vendor at the kill, ${afterAnswer} answered before the kill but its outcome not yet committed), other: ${unexplained.length}`,
  );
  for (const d of unexplained.slice(0, 10)) {
    out(`  unexplained duplicate ${d.attemptId} (${d.vendor}): ${d.sends.map((s) => `${s.slot} sent ${t(s.startedAt)}, ${s.answeredAt ? `answered ${t(s.answeredAt)}` : `abandoned ${t(s.abandonedAt ?? undefined)}`}`).join('; ')}; kills of ${d.sends[0]!.slot}: ${kills.filter((k) => k.vendorSlot === d.sends[0]!.slot).map((k) => t(k.at)).join(', ') || 'none'}`);
  }

  // Faults done.
  const count = (kind: string, prefix = '') => events.events.filter((e) => e.kind === kind && e.slot.startsWith(prefix)).length;
  out(
    `faults: SIGKILL ${count('SIGKILL')} (relay ${faultLog.relayKills.length}, dispatchers ${faultLog.dispatcherKills.length}, ingest-api ${faultLog.ingestKills.length}, admin-api ${faultLog.adminKills.length}), ` +
      `SIGTERM ${count('SIGTERM')} (ingest-api ${faultLog.ingestTerms.length}, dispatchers ${faultLog.dispatcherTerms.length}), restarts ${count('restart')}, ` +
      `broker restarts ${faultLog.broker ? 1 : 0}, redis restarts ${faultLog.redis.length}${faultLog.outage ? `, vendor outage ${t(faultLog.outage.from)} → ${t(faultLog.outage.to)}` : ''}`,
  );
  const unexpected = events.events.filter((e) => e.kind === 'unexpected-exit');
  out(`unexpected exits (a process ended that nobody signalled; restarted): ${unexpected.length}${unexpected.length ? ` — ${unexpected.map((e) => `${e.slot} ${e.detail} at ${t(e.at)}`).join('; ')}` : ''}`);
  if (faultLog.notReady.length) out(`restarted but not ready within 90 s: ${faultLog.notReady.join(', ')}`);
  for (const note of faultLog.notes) out(`note: ${note}`);
  out(`time to drain (load and faults over → all final): ${drain.drained ? `${((input.drainedAt - input.loadEnd) / 1000).toFixed(1)} s` : `NOT drained within ${drainSeconds} s (${drain.open} attempts open, ${drain.incomplete} notifications not COMPLETED)`}`);

  // Dispatcher kills: in-flight sends and when they were retried.
  const retries = killRetries(sends, attemptOf, kills, (id) => completedAt.get(id) ?? null);
  out('dispatcher SIGKILLs (sends open at the vendor at the kill → re-published to Kafka after the lease → sent again after):');
  for (const [i, r] of retries.entries()) {
    const k = faultLog.dispatcherKills[i]!;
    // When the retry was published again (lease recovered, backoff over, relay published it): the
    // rest of the delay until the send is the wait in the channel's consumer backlog.
    const open = [
      ...new Set(
        sends
          .filter((s) => s.slot === k.vendorSlot && (s.answeredAt === null || s.answeredAt > k.at))
          .map(attemptOf)
          .filter((x): x is string => !!x && ((completedAt.get(x) ?? null) === null || completedAt.get(x)! > k.at)),
      ),
    ];
    const republished =
      open.length === 0
        ? undefined
        : (
            await sql<{ at: Date | null }>`
              select max(first) as at from (
                select min(published_at) as first from outbox
                where topic like ${`${input.topics}%`} and payload ->> 'attemptId' = any(${open}::text[]) and published_at > ${new Date(k.at)}
                group by payload ->> 'attemptId') per_attempt`.execute(db)
          ).rows[0]?.at;
    const ok = r.notRetried.length === 0 && (r.maxDelayMs === null || r.maxDelayMs <= KILL_RETRY_TARGET_S * 1_000);
    const detail =
      r.inFlight === 0
        ? 'no send in flight'
        : `${r.inFlight} sends in flight; re-published after ${republished ? `${((republished.getTime() - k.at) / 1000).toFixed(1)} s` : '—'}; ${r.retried} sent again, the last after ${r.maxDelayMs === null ? '—' : `${(r.maxDelayMs / 1000).toFixed(1)} s`}${r.notRetried.length ? `; NEVER sent again: ${r.notRetried.length}` : ''}`;
    out(`  ${k.slot} at ${t(k.at)} (channel backlog at the kill ${k.backlog}): ${detail}`);
    check(`in-flight deliveries retried ≤ ${KILL_RETRY_TARGET_S} s after SIGKILL ${k.slot} at ${t(k.at)}`, ok, detail);
  }
  for (const term of faultLog.dispatcherTerms) {
    const open = sends.filter((s) => s.slot === term.vendorSlot && (s.answeredAt === null || s.answeredAt > term.exitedAt));
    out(`  SIGTERM ${term.slot} at ${t(term.at)}: exited after ${((term.exitedAt - term.at) / 1000).toFixed(1)} s, sends left unanswered at its exit: ${open.length}`);
  }

  // Broker restart: when the relay published and the dispatchers sent again.
  if (faultLog.broker) {
    const b = faultLog.broker;
    out(`broker restart: down ${t(b.downAt)}, stopped ${t(b.stoppedAt)}, answers again ${t(b.answersAt)}, kafka.sh up returned ${t(b.upAt)}${b.error ? ` (${b.error})` : ''}`);
    if (b.answersAt) {
      const relayBack = (await sql<{ at: Date | null }>`select min(published_at) as at from outbox where published_at > ${new Date(b.answersAt)} and topic like ${`${input.topics}%`}`.execute(db)).rows[0]?.at;
      const first = firstSendAfter(sends, b.answersAt);
      const worst = Math.max(...Object.values(first).map((v) => v ?? Number.POSITIVE_INFINITY));
      out(`  relay published deliveries again after ${relayBack ? `${((relayBack.getTime() - b.answersAt) / 1000).toFixed(1)} s` : 'never'}; dispatchers sent again after: ${Object.entries(first).map(([v, ms]) => `${v} ${ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`}`).join(', ')}`);
      const groups = new Map<string, string[]>();
      for (const g of faultLog.groups) {
        const name = g.group === '*' ? 'describeGroups' : g.group.slice(namespace.length + 1).replace('notification-hub-', '');
        groups.set(name, [...(groups.get(name) ?? []), `${g.state}/${g.members} member(s) at ${((g.at - b.answersAt) / 1000).toFixed(1)} s`]);
      }
      out(`  consumer groups after the broker answered (state/members, seconds after it answered):`);
      for (const [name, states] of groups) out(`    ${name}: ${states.join(' → ')}`);
      check(`dispatchers consuming ≤ ${BROKER_TARGET_S} s after the broker answers`, worst <= BROKER_TARGET_S * 1_000, Number.isFinite(worst) ? `slowest ${(worst / 1000).toFixed(1)} s` : 'a dispatcher never sent again');
    } else {
      check(`dispatchers consuming ≤ ${BROKER_TARGET_S} s after the broker answers`, false, 'the broker never answered again');
    }
  }

  // ingest-api SIGTERM: requests it reset.
  let resets = 0;
  for (const term of faultLog.ingestTerms) {
    const reset = resetsDuring(input.client.tries, term);
    resets += reset.length;
    const ms = (x: number) => `${(x - term.at).toFixed(0)} ms`;
    out(
      `ingest-api SIGTERM ${term.slot} at ${t(term.at)}: exited after ${((term.exitedAt - term.at) / 1000).toFixed(1)} s; requests reset: ${reset.length}` +
        (reset.length
          ? ` (${[...countBy(reset, (r) => `${r.error} on a ${r.reused ? 'kept-alive' : 'new'} connection`)].map(([k, v]) => `${k} ×${v}`).join(', ')}; ` +
            `connected ${span(reset.flatMap((r) => (r.connectedAt ? [r.connectedAt] : [])), ms)}, reset ${span(reset.map((r) => r.endedAt), ms)} after the SIGTERM, whose drain delay is SHUTDOWN_DRAIN_DELAY_MS = 1000 ms)`
          : ''),
    );
  }
  for (const kill of faultLog.ingestKills) {
    const cut = input.client.tries.filter((x) => x.slot === kill.slot && x.error && x.startedAt <= kill.at && x.endedAt >= kill.at).length;
    out(`ingest-api SIGKILL ${kill.slot} at ${t(kill.at)}: requests cut off ${cut} (retried by the client)`);
  }
  for (const r of faultLog.redis) {
    const during = input.client.tries.filter((x) => x.startedAt >= r.downAt && x.startedAt <= (r.upAt ?? r.downAt) + 1_000);
    out(`redis restart ${t(r.downAt)} → ready ${t(r.upAt)}: client answers meanwhile: ${[...countBy(during, (x) => (x.error ? x.error : `${x.status}${x.code && x.status !== 202 ? ` ${x.code}` : ''}`))].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
  }

  // Rate cap (replicas).
  if (vendorRate > 0) {
    out(`vendor send rate (cap ${vendorRate}/s shared by ${replicas} replicas through Redis; limit checked: cap + 10 % in any epoch second):`);
    for (const r of sendRates(sends)) {
      out(`  ${r.vendor}: ${r.sends} sends, max ${r.maxPerSecond}/s in an epoch second, ${r.maxSliding1s} in any sliding second, ${r.maxSliding5s.toFixed(1)}/s over any 5 s`);
      check(`${r.vendor} sends per second ≤ ${vendorRate} + 10 %`, r.maxPerSecond <= vendorRate * 1.1, `max ${r.maxPerSecond}/s`);
    }
  }

  // CPU of the generator.
  const loadWallMs = stats.offeredUntil - stats.startedAt;
  const cpuMs = (stats.cpu.user + stats.cpu.system) / 1_000;
  out(
    `load generator: offered ${stats.offered} in ${(loadWallMs / 1000).toFixed(1)} s (${(stats.offered / (loadWallMs / 1000)).toFixed(1)}/s of ${rate}/s), max lag ${stats.maxLagMs.toFixed(0)} ms, ${stats.lateOffers} offered >100 ms late, ` +
      `max ${stats.maxOutstanding} requests outstanding; its CPU (process.cpuUsage) ${(cpuMs / 1000).toFixed(1)} s = ${((100 * (stats.cpu.user + stats.cpu.system)) / 1_000 / (stats.settledAt - stats.startedAt)).toFixed(0)}% of one core while the load ran`,
  );
  if (input.cpuBefore && input.cpuAfter) {
    const cores = os.availableParallelism();
    const elapsed = (input.cpuAfter.total - input.cpuBefore.total) / cores;
    const vendorTicks = [...input.cpuAfter.ticks].reduce((a, [pid, v]) => a + v - (input.cpuBefore!.ticks.get(pid) ?? v), 0);
    out(`machine during the load: ${((100 * (input.cpuAfter.busy - input.cpuBefore.busy)) / (input.cpuAfter.total - input.cpuBefore.total)).toFixed(0)}% busy of ${cores} cores; counting vendor process ${((100 * vendorTicks) / elapsed).toFixed(0)}% of one core`);
  }
  for (const warning of stats.warnings) out(`  ${warning}`);
  out(`service logs: ${logSummary()}`);

  check('0 lost notifications', lost.length === 0, `${lost.length}`);
  check('0 keys with more than one notification', multiKeys.length === 0 && dbDuplicateKeys.length === 0, `${multiKeys.length} client, ${dbDuplicateKeys.length} db`);
  check('all notifications COMPLETED', notCompleted === 0 && drain.drained, `${notCompleted} not COMPLETED`);
  check('0 attempts PENDING/DISPATCHING', open === 0, `${open}`);
  check('0 client failures after retries', clientFailures.length === 0, `${clientFailures.length}`);
  check('0 unexplained duplicate sends', unexplained.length === 0, `${unexplained.length} (explained by a SIGKILL: ${explained.length})`);
  if (faultLog.ingestTerms.length > 0) check('0 requests reset by a SIGTERM of ingest-api', resets === 0, `${resets}`);
  if (faultLog.outage?.to) {
    const last = attempts.reduce((m, a) => Math.max(m, a.completed_at?.getTime() ?? 0), 0);
    const refused = sends.filter((s) => s.status === 503).length;
    out(`vendor outage ${t(faultLog.outage.from)} → ${t(faultLog.outage.to)}: ${refused} sends answered 503; the last attempt SUCCEEDED ${((last - faultLog.outage.to) / 1000).toFixed(1)} s after the vendors answered again`);
  }
  if (mode === 'outage') {
    const notSucceeded = attempts.filter((a) => a.status !== 'SUCCEEDED').length;
    check('every attempt SUCCEEDED after the outage, 0 EXHAUSTED', notSucceeded === 0 && exhausted.length === 0, `${notSucceeded} not SUCCEEDED, ${exhausted.length} EXHAUSTED`);
  }

  out('checks:');
  for (const c of checks) out(`  ${c.ok ? 'PASS' : 'FAIL'}  ${c.name} (${c.detail})`);
  const failed = checks.filter((c) => !c.ok).length;
  out(`total time ${((now() - runStart) / 1000).toFixed(0)} s; logs in ${logDir}`);
  out(`chaos: ${checks.length - failed} passed, ${failed} failed`);
  console.log(lines.join('\n'));
  return failed === 0;
}

function span(values: number[], format: (x: number) => string): string {
  return values.length === 0 ? '—' : `${format(Math.min(...values))} to ${format(Math.max(...values))}`;
}

/** Per service log file: error and warning lines by message (pino JSON), the most frequent first. */
function logSummary(): string {
  const parts: string[] = [];
  for (const file of readdirSync(logDir).sort()) {
    if (!file.endsWith('.log') || file === 'kafka.sh.log' || file === 'redis.log') continue;
    const counts = new Map<string, number>();
    for (const line of readFileSync(path.join(logDir, file), 'utf8').split('\n')) {
      const level = /"level":(\d+)/.exec(line)?.[1];
      if (!level || Number(level) < 40) continue;
      const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? '?';
      const key = `${Number(level) >= 50 ? 'ERROR' : 'WARN'} ${msg}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    if (counts.size > 0) parts.push(`\n  ${file}: ${[...counts].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ×${v}`).join('; ')}`);
    // A kafkajs consumer that crashed with restart=false consumes nothing until its process restarts.
    for (const line of readFileSync(path.join(logDir, file), 'utf8').split('\n')) {
      if (!line.includes('"msg":"consumer crashed"') || !line.includes('"restart":false')) continue;
      const entry = JSON.parse(line) as { time: string; groupId?: string; err?: { message?: string } };
      parts.push(`\n  ${file}: CONSUMER CRASHED AND NOT RESTARTED: ${entry.groupId ?? '?'} at ${entry.time} (${entry.err?.message ?? '?'})`);
    }
  }
  return parts.length ? parts.join('') : 'no warnings or errors';
}
