// What the hub costs on this machine, from /proc (Linux; run as a user that can see the
// infrastructure's processes, e.g. root, for the Postgres/Redis/Kafka lines):
//   (a) idle CPU of each of the seven services, of Postgres (this database's backends, its
//       background processes, the whole server), Redis and the Kafka broker;
//   (b) idle RSS of each service, next to the RSS floor of this stack (bench/cost/rss-floor.ts:
//       the libraries every service loads, used once, and its connections, bundled like them);
//   (c) time from spawn() to the first 200 of /readyz, per service, started one at a time;
//   (d) CPU time per delivered attempt at 100 notifications/s × 4 channels (SECURITY, mock
//       vendors), across the seven services + Postgres + Kafka + Redis, from the load's start
//       until everything is delivered and published, next to the same-run cost of the floor
//       (bench/cost/floor.ts: the same rows by raw SQL and the same records by raw kafkajs, in one
//       process, batched over the services' lingers), and their ratio.
// Infrastructure is assumed up (DATABASE_URL, REDIS_URL, KAFKA_BROKERS, with the same defaults as
// the other benches); the hub gets a fresh database and topic namespace, and the floor another
// database and namespace, all removed at the end. The load generator is its own process and is
// not counted. Postgres (background), Redis and the broker are shared with whatever else runs
// on the machine: their lines hold that work too (the machine's busy share is printed beside).
//
//   npm run bench:cost
//   npm run bench:cost -- --idle-seconds 20 --load-seconds 20 --runs 3
//   flags: --idle-seconds 60  --settle-seconds 10  --load-seconds 60  --warmup-seconds 3
//          --rate 100 (notifications/s)  --recipients 100  --runs 1
//   Service knobs under test are passed on from the environment (DATABASE_POOL_MAX, DISPATCH_*,
//   RELAY_*, WRITE_*, …), e.g. RELAY_POLL_INTERVAL_MS=5000 npm run bench:cost; V8 flags for the
//   services only in HUB_NODE_OPTIONS, e.g. HUB_NODE_OPTIONS=--max-semi-space-size=1.
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Pool } from 'undici';
import { createDb, migrateToLatest, openPostgres } from '@hub/db';
import { createKafka, deleteTopicsWithPrefix, ensureTopics } from '@hub/messaging';
import { bundleEntry } from '../../deploy/build/bundle.ts';
import { dispatcherConfigSchema } from '@hub/dispatching';
import { relayConfigSchema } from '../../services/outbox-relay/src/config.ts';
import { LocalHub, SERVICES, infra, repoRoot, withDatabase, type ServiceName } from '../lib/local-hub.ts';
import { CLOCK_TICKS, ProcessSetCpu, backendsOf, backendsOfApp, busyPercent, cpuTicks, listenerPid, machineTicks, postgresBackground, postgresServerTicks, rssBytes } from '../lib/proc-stats.ts';
import { stopChild } from '../../shared/testing/src/children.ts';
import { GeneratorProcess } from '../load/generator-process.ts';
import type { FloorMessage, FloorReply } from './floor.ts';

const { values: flags } = parseArgs({
  strict: true,
  options: {
    'idle-seconds': { type: 'string', default: '60' },
    'settle-seconds': { type: 'string', default: '10' },
    'load-seconds': { type: 'string', default: '60' },
    'warmup-seconds': { type: 'string', default: '3' },
    rate: { type: 'string', default: '100' },
    recipients: { type: 'string', default: '100' },
    runs: { type: 'string', default: '1' },
  },
});
const num = (name: keyof typeof flags) => {
  const n = Number(flags[name]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
};
const idleSeconds = num('idle-seconds');
const settleSeconds = num('settle-seconds');
const loadSeconds = num('load-seconds');
const warmupSeconds = num('warmup-seconds');
const rate = num('rate');
const recipientCount = num('recipients');
const runs = num('runs');
const DRAIN_TIMEOUT_MS = 300_000;

const say = (line: string) => console.error(`[bench:cost ${new Date().toISOString().slice(11, 19)}] ${line}`);
const out = (line: string) => console.log(line);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const portOf = (url: string, fallback: number) => Number(new URL(url).port || fallback);

interface Infra {
  admin: ReturnType<typeof openPostgres>;
  postmaster: number | undefined;
  redis: number | undefined;
  kafka: number | undefined;
}

/** CPU used over a window by named processes (fixed PIDs) and process sets (Postgres backends). */
class Window {
  private readonly fixed: Map<string, number>;
  private readonly sets: Map<string, ProcessSetCpu>;
  private readonly postmaster: number | undefined;
  private startTicks = new Map<string, number>();
  private startServer = 0;
  private startMachine = machineTicks();
  private began = 0;
  readonly ticks = new Map<string, number>();
  serverTicks = 0;
  machineBusy = 0;
  seconds = 0;

  constructor(fixed: Map<string, number>, sets: Map<string, ProcessSetCpu>, postmaster: number | undefined) {
    this.fixed = fixed;
    this.sets = sets;
    this.postmaster = postmaster;
  }

  async start(): Promise<void> {
    for (const set of this.sets.values()) await set.start();
    this.startTicks = new Map([...this.fixed].map(([name, pid]) => [name, cpuTicks(pid) ?? 0]));
    this.startServer = this.postmaster ? postgresServerTicks(this.postmaster) : 0;
    this.startMachine = machineTicks();
    this.began = performance.now();
  }

  async sample(): Promise<void> {
    for (const set of this.sets.values()) await set.sample();
  }

  async end(): Promise<void> {
    await this.sample();
    this.seconds = (performance.now() - this.began) / 1_000;
    for (const [name, pid] of this.fixed) this.ticks.set(name, (cpuTicks(pid) ?? NaN) - this.startTicks.get(name)!);
    for (const [name, set] of this.sets) this.ticks.set(name, set.total());
    this.serverTicks = this.postmaster ? postgresServerTicks(this.postmaster) - this.startServer : NaN;
    this.machineBusy = busyPercent(this.startMachine, machineTicks());
  }

  /** % of one core over the window. */
  percent(ticks: number): number {
    return (100 * ticks) / CLOCK_TICKS / this.seconds;
  }
}

/** A window that samples its process sets every `everyMs` until `work` resolves. */
async function measure<T>(window: Window, work: () => Promise<T>, everyMs = 500): Promise<T> {
  await window.start();
  let done = false;
  const sampler = (async () => {
    while (!done) {
      await sleep(everyMs);
      await window.sample();
    }
  })();
  try {
    return await work();
  } finally {
    done = true;
    await sampler;
    await window.end();
  }
}

/**
 * Waits (up to 10 s) until the broker used under 5 % of a core over half a second; how long it
 * took, or undefined without a broker PID to watch.
 */
async function waitForQuietBroker(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  const started = performance.now();
  for (;;) {
    const before = cpuTicks(pid);
    await sleep(500);
    const after = cpuTicks(pid);
    if (before === undefined || after === undefined) return undefined;
    const percent = ((after - before) / CLOCK_TICKS / 0.5) * 100;
    if (percent < 5 || performance.now() - started > 10_000) return Math.round(performance.now() - started);
  }
}

function sharedProcesses(infraPids: Infra): Map<string, number> {
  const fixed = new Map<string, number>();
  if (infraPids.redis) fixed.set('redis (shared)', infraPids.redis);
  if (infraPids.kafka) fixed.set('kafka broker (shared)', infraPids.kafka);
  return fixed;
}

function postgresSets(infraPids: Infra, database: string): Map<string, ProcessSetCpu> {
  return new Map([
    [`postgres: backends of ${database.replace(/^hub_/, '')}`, new ProcessSetCpu(backendsOf(infraPids.admin, database))],
    ['postgres: background (shared)', new ProcessSetCpu(postgresBackground(infraPids.admin))],
  ]);
}

async function drainCounts(sql: ReturnType<typeof openPostgres>): Promise<{ open: number; unpublished: number; succeeded: number }> {
  const [row] = await sql<{ open: number; unpublished: number; succeeded: number }[]>`
    select (select count(*) from delivery_attempts where status in ('PENDING', 'DISPATCHING'))::int as open,
           (select count(*) from outbox where published_at is null and available_at <= now())::int as unpublished,
           (select count(*) from delivery_attempts where status = 'SUCCEEDED')::int as succeeded`;
  return row!;
}

/** Until every attempt is final and every due outbox row published (bounded). */
async function drained(sql: ReturnType<typeof openPostgres>, what: string): Promise<void> {
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const c = await drainCounts(sql);
    if (c.open === 0 && c.unpublished === 0) return;
    if (performance.now() > deadline) throw new Error(`${what}: not drained after ${DRAIN_TIMEOUT_MS / 1000} s (${c.open} attempts open, ${c.unpublished} outbox rows unpublished)`);
    await sleep(250);
  }
}

interface Recipient {
  id: string;
  token: string;
  email: string;
  phone: string;
}

const recipientsOf = (tag: string): Recipient[] =>
  Array.from({ length: recipientCount }, (_, i) => ({
    id: `cost-${tag}-${i}`,
    token: `cost-${tag}-${i}-device-${'x'.repeat(32)}`,
    email: `cost-${tag}-${i}@example.com`,
    phone: `+8210${String(20_000_000 + i)}`,
  }));

async function createRecipients(baseUrl: string, recipients: Recipient[]): Promise<void> {
  const pool = new Pool(baseUrl, { connections: 16 });
  const call = async (method: 'PUT' | 'POST', path: string, body: unknown) => {
    const res = await pool.request({ method, path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`set-up ${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`);
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < recipients.length) {
        const r = recipients[next++]!;
        await call('PUT', `/api/v1/recipients/${r.id}`, { channels: [{ type: 'EMAIL', address: r.email }, { type: 'SMS', address: r.phone }, { type: 'KAKAO_ALIMTALK', address: r.phone }] });
        await call('POST', '/api/v1/devices', { recipientId: r.id, platform: 'ANDROID', token: r.token });
        await call('PUT', `/api/v1/users/${r.id}/preferences`, { disableQuietHours: true });
      }
    }),
  );
  await pool.close();
}

interface DeliveryCost {
  label: string;
  window: Window;
  delivered: number;
  offered: number;
  offeredSeconds: number;
}

interface RunResult {
  ready: Map<ServiceName, number>;
  idle: Window;
  rss: Map<ServiceName, number>;
  rssFloor: number;
  hub: DeliveryCost;
  floor: DeliveryCost;
}

// The floor batches over the hub's windows: its relay round and its wait after a consumed batch
// are the services' lingers (their defaults, or what this bench passes on to them).
const lingers = {
  relayLingerMs: relayConfigSchema.shape.RELAY_LINGER_MS.parse(process.env.RELAY_LINGER_MS),
  dispatchLingerMs: dispatcherConfigSchema('PUSH').shape.DISPATCH_FETCH_LINGER_MS.parse(process.env.DISPATCH_FETCH_LINGER_MS),
};

// Service knobs under test, passed on when set for the bench.
const tuning = Object.fromEntries(
  Object.entries(process.env).filter(([k, v]) => v !== undefined && /^(DATABASE_POOL_MAX|DISPATCH_.*|RELAY_.*|WRITE_.*|VENDOR_.*|MOCK_VENDOR_.*)$/.test(k)),
) as Record<string, string>;

/** Ctrl-C: what the current run created goes too. */
let interrupted: (() => Promise<void>) | undefined;
process.once('SIGINT', () => {
  say('interrupted; stopping');
  void (interrupted?.() ?? Promise.resolve()).finally(() => process.exit(130));
});

async function runOnce(run: number, infraPids: Infra): Promise<RunResult> {
  const hub = new LocalHub({
    tag: 'cost',
    say,
    start: 'sequential',
    // Limits out of the way: this measures the cost of deliveries, not the limiter's refusals.
    env: { RATE_LIMIT_PUSH: '1000000000', RATE_LIMIT_EMAIL: '1000000000', RATE_LIMIT_SMS: '1000000000', RATE_LIMIT_KAKAO_ALIMTALK: '1000000000', ...tuning },
  });
  const floorDb = `hub_costfloor_${hub.id}`;
  const floorNamespace = `${hub.namespace}floor`;
  const kafka = createKafka({ brokers: infra.brokers, clientId: `bench-cost-${hub.id}`, logger: pino({ level: 'silent' }) });
  let floor: ChildProcess | undefined;
  let rssFloor: ChildProcess | undefined;
  let floorCreated = false;
  const generator = new GeneratorProcess();
  const hubSql = () => openPostgres(hub.dbUrl, { max: 1, onnotice: () => {} });
  const cleanup = async () => {
    await generator.close();
    if (rssFloor) await stopChild(rssFloor, { killAfterMs: 10_000, ask: (child) => child.disconnect() });
    if (floor) await stopChild(floor, { killAfterMs: 10_000, ask: (child) => child.send({ type: 'exit' } satisfies FloorMessage) });
    if (floorCreated) await infraPids.admin.unsafe(`drop database if exists "${floorDb}" with (force)`).catch((err: unknown) => say(`could not drop ${floorDb}: ${String(err)}`));
    await deleteTopicsWithPrefix(kafka, `${floorNamespace}.`).catch(() => {});
    await hub.stop();
  };
  interrupted = cleanup;
  try {
    say(`run ${run}: database ${hub.dbName}, namespace ${hub.namespace}; starting the seven services one at a time${Object.keys(tuning).length ? ` with ${Object.entries(tuning).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}`);
    await hub.prepare();
    // (c) is a service's start-up with the infrastructure up: not the broker's tail of creating
    // the namespace's 240 partitions, which the first service started would otherwise wait on.
    const quietAfterMs = await waitForQuietBroker(infraPids.kafka);
    if (quietAfterMs !== undefined) say(`the broker settled ${quietAfterMs} ms after the topics were created`);
    await hub.startServices();
    const ready = new Map(hub.services.map((s) => [s.name, s.readyMs]));
    rssFloor = await startRssFloor(hub.dbUrl, `${floorNamespace}.rss-floor`, `${floorNamespace}-rss-floor`, kafka);

    say(`settling ${settleSeconds} s (consumer groups join), then ${idleSeconds} s idle`);
    await sleep(settleSeconds * 1_000);
    const idle = new Window(
      new Map([...hub.services.map((s) => [s.name, s.pid] as const), [RSS_FLOOR, rssFloor.pid!], ...sharedProcesses(infraPids)]),
      postgresSets(infraPids, hub.dbName),
      infraPids.postmaster,
    );
    await measure(idle, () => sleep(idleSeconds * 1_000), 1_000);
    const rss = new Map(hub.services.map((s) => [s.name, rssBytes(s.pid) ?? NaN]));
    const rssFloorBytes = rssBytes(rssFloor.pid!) ?? NaN;

    // (d) the hub under load.
    const recipients = recipientsOf(hub.id);
    await createRecipients(hub.ingestUrl, recipients);
    const sendSpec = (seconds: number) => ({
      baseUrl: hub.ingestUrl,
      headers: {},
      work: { kind: 'send' as const, recipients: recipients.map((r) => r.id) },
      pace: { type: 'open' as const, rate, seconds, maxLagMs: 1_000, maxOutstanding: 10_000 },
      connections: 64,
      timeoutMs: 30_000,
    });
    const sql = hubSql();
    try {
      say(`warm-up: ${rate}/s for ${warmupSeconds} s, then drain`);
      await generator.drive(sendSpec(warmupSeconds));
      await drained(sql, 'hub warm-up');
      const before = (await drainCounts(sql)).succeeded;
      say(`hub: ${rate} notifications/s × 4 channels for ${loadSeconds} s, then until drained`);
      const hubWindow = new Window(
        new Map([...hub.services.map((s) => [s.name, s.pid] as const), ...sharedProcesses(infraPids)]),
        new Map([...postgresSets(infraPids, hub.dbName), ...SERVICES.map((name) => [pgServing(name), new ProcessSetCpu(backendsOfApp(infraPids.admin, hub.dbName, name))] as const)]),
        infraPids.postmaster,
      );
      const load = await measure(hubWindow, async () => {
        const result = await generator.drive(sendSpec(loadSeconds));
        await drained(sql, 'hub load');
        return result;
      });
      const delivered = (await drainCounts(sql)).succeeded - before;
      const accepted = result202(load.classes.all?.statuses);
      if (accepted < load.scheduled) say(`hub: ${load.scheduled - accepted} of ${load.scheduled} notifications were not accepted (statuses ${JSON.stringify(load.classes.all?.statuses)})`);
      const hubCost: DeliveryCost = { label: 'hub', window: hubWindow, delivered, offered: load.scheduled, offeredSeconds: load.offerSeconds };
      await generator.close();
      say('stopping the hub before the floor runs (its idle polling would load the shared broker and Postgres)');
      await hub.stopServices();

      // (d) the floor: same rows, same records, one process.
      const admin = infraPids.admin;
      await admin.unsafe(`create database "${floorDb}"`);
      floorCreated = true;
      const floorUrl = withDatabase(infra.adminUrl, floorDb);
      const floorHandle = createDb({ url: floorUrl, max: 1, applicationName: 'bench-cost-floor-setup' });
      await migrateToLatest(floorHandle.db);
      await floorHandle.close();
      const floorSql = openPostgres(floorUrl, { max: 1, onnotice: () => {} });
      try {
        const floorRecipients = recipientsOf(`floor-${hub.id}`);
        await floorSql`insert into recipients ${floorSql(floorRecipients.map((r) => ({ id: r.id, channels: floorSql.json([{ type: 'EMAIL', address: r.email }, { type: 'SMS', address: r.phone }, { type: 'KAKAO_ALIMTALK', address: r.phone }]) })))}`;
        const topics = { delivery: `${floorNamespace}.delivery`, fannedOut: `${floorNamespace}.fanned-out`, vendorResult: `${floorNamespace}.vendor-result` };
        await ensureTopics(kafka, Object.values(topics), { partitions: 8 });
        const child = fork(path.join(path.dirname(fileURLToPath(import.meta.url)), 'floor.ts'), [], { execArgv: ['--disable-warning=TimeoutNegativeWarning'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        floor = child;
        const next = (type: FloorReply['type']) =>
          new Promise<FloorReply>((resolve, reject) => {
            const onMessage = (m: FloorReply) => {
              if (m.type === 'error') reject(new Error(`floor: ${m.message}`));
              else if (m.type === type) resolve(m);
              else return;
              child.off('message', onMessage);
            };
            child.on('message', onMessage);
          });
        const send = (m: FloorMessage) => child.send(m);
        const readyReply = next('ready');
        send({ type: 'prepare', dbUrl: floorUrl, brokers: infra.brokers, topics, group: `${floorNamespace}-group`, recipients: floorRecipients, ...lingers });
        await readyReply;
        say(`floor warm-up: ${rate}/s for ${warmupSeconds} s, then drain`);
        let offered = next('offered');
        send({ type: 'go', rate, seconds: warmupSeconds });
        await offered;
        await drained(floorSql, 'floor warm-up');
        const floorBefore = (await drainCounts(floorSql)).succeeded;
        say(`floor: ${rate} notifications/s × 4 channels for ${loadSeconds} s, then until drained`);
        const floorWindow = new Window(new Map([['floor process (raw SQL + kafkajs)', child.pid!], ...sharedProcesses(infraPids)]), postgresSets(infraPids, floorDb), infraPids.postmaster);
        const floorOffer = await measure(floorWindow, async () => {
          offered = next('offered');
          send({ type: 'go', rate, seconds: loadSeconds });
          const o = (await offered) as Extract<FloorReply, { type: 'offered' }>;
          await drained(floorSql, 'floor load');
          return o;
        });
        const floorCost: DeliveryCost = {
          label: 'floor',
          window: floorWindow,
          delivered: (await drainCounts(floorSql)).succeeded - floorBefore,
          offered: floorOffer.count,
          offeredSeconds: floorOffer.seconds,
        };
        return { ready, idle, rss, rssFloor: rssFloorBytes, hub: hubCost, floor: floorCost };
      } finally {
        await floorSql.end();
      }
    } finally {
      await sql.end();
    }
  } finally {
    interrupted = undefined;
    await cleanup();
  }
}

const RSS_FLOOR = 'rss floor (stack loaded + connected, idle)';
const pgServing = (service: ServiceName) => `postgres: backends serving ${service}`;

/** The RSS floor's bundle, built once per process (a run starts one floor). */
let rssFloorEntry: Promise<string> | undefined;

/**
 * Starts bench/cost/rss-floor.ts, bundled like the services, against the hub's Postgres, Redis
 * and broker, and resolves once its connections and consumer group are up.
 */
async function startRssFloor(dbUrl: string, topic: string, group: string, kafka: ReturnType<typeof createKafka>): Promise<ChildProcess> {
  await ensureTopics(kafka, [topic], { partitions: 1 });
  const entry = await (rssFloorEntry ??= bundleEntry(path.join(repoRoot, 'bench', 'cost', 'rss-floor.ts'), 'bench-rss-floor'));
  const child = fork(entry, [], {
    env: { PATH: process.env.PATH ?? '', FLOOR_DATABASE_URL: dbUrl, FLOOR_REDIS_URL: infra.redisUrl, FLOOR_BROKERS: infra.brokers.join(','), FLOOR_TOPIC: topic, FLOOR_GROUP: group },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the RSS floor exited (${code}) before it was ready`)));
  });
  return child;
}

function result202(statuses: Record<string, number> | undefined): number {
  return statuses?.['202'] ?? 0;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

type Summary = { idleTotal: number; rss: number[]; rssFloor: number; hubMs: number; floorMs: number };

function report(run: number, r: RunResult): Summary {
  out(`\n=== bench:cost run ${run} (${os.availableParallelism()} cores; USER_HZ ${CLOCK_TICKS}) ===`);
  out(`(a) idle CPU over ${r.idle.seconds.toFixed(0)} s (% of one core), (b) idle RSS, (c) spawn → /readyz 200 (services started one at a time)`);
  out(`  ${pad('process', 44)}${lpad('idle CPU', 10)}${lpad('RSS', 10)}${lpad('ready', 10)}`);
  let servicesTicks = 0;
  let servicesRss = 0;
  for (const name of SERVICES) {
    const ticks = r.idle.ticks.get(name)!;
    servicesTicks += ticks;
    servicesRss += r.rss.get(name)!;
    out(`  ${pad(name, 44)}${lpad(`${r.idle.percent(ticks).toFixed(2)}%`, 10)}${lpad(mb(r.rss.get(name)!), 10)}${lpad(`${r.ready.get(name)!.toFixed(0)} ms`, 10)}`);
  }
  out(`  ${pad('seven services together', 44)}${lpad(`${r.idle.percent(servicesTicks).toFixed(2)}%`, 10)}${lpad(mb(servicesRss), 10)}`);
  out(`  ${pad(RSS_FLOOR, 44)}${lpad(`${r.idle.percent(r.idle.ticks.get(RSS_FLOOR)!).toFixed(2)}%`, 10)}${lpad(mb(r.rssFloor), 10)}`);
  for (const [name, ticks] of r.idle.ticks) if (!(SERVICES as readonly string[]).includes(name) && name !== RSS_FLOOR) out(`  ${pad(name, 44)}${lpad(`${r.idle.percent(ticks).toFixed(2)}%`, 10)}`);
  out(`  ${pad('postgres: whole server (everything on it)', 44)}${lpad(`${r.idle.percent(r.idle.serverTicks).toFixed(2)}%`, 10)}`);
  out(`  machine: ${r.idle.machineBusy.toFixed(0)}% busy of ${os.availableParallelism()} cores meanwhile (other work on the box included)`);

  const perDelivery = (c: DeliveryCost, ticks: number) => (c.delivered > 0 ? (ticks * (1_000 / CLOCK_TICKS)) / c.delivered : NaN);
  out(`\n(d) CPU per delivered attempt at ${rate} notifications/s × 4 channels, from the load's start until drained (ms of CPU per attempt)`);
  out(`  lingers: relay ${lingers.relayLingerMs} ms, dispatch ${lingers.dispatchLingerMs} ms (the floor's relay round and its wait after a batch are the same)`);
  for (const c of [r.hub, r.floor]) {
    out(
      `  ${c.label}: ${c.offered} notifications offered in ${c.offeredSeconds.toFixed(1)} s, ${c.delivered} attempts delivered (SUCCEEDED), ` +
        `window ${c.window.seconds.toFixed(1)} s, machine ${c.window.machineBusy.toFixed(0)}% busy`,
    );
  }
  out(`  ${pad('process', 44)}${lpad('hub', 12)}${lpad('floor', 12)}`);
  const row = (name: string, hub: number | undefined, floor: number | undefined) =>
    out(`  ${pad(name, 44)}${lpad(hub === undefined ? '' : hub.toFixed(3), 12)}${lpad(floor === undefined ? '' : floor.toFixed(3), 12)}`);
  let hubTotal = 0;
  let floorTotal = 0;
  for (const [name, ticks] of r.hub.window.ticks) {
    if ((SERVICES as readonly string[]).includes(name)) {
      row(name, perDelivery(r.hub, ticks), undefined);
      hubTotal += ticks;
    }
  }
  for (const [name, ticks] of r.floor.window.ticks) {
    if (name.startsWith('floor')) {
      row(name, undefined, perDelivery(r.floor, ticks));
      floorTotal += ticks;
    }
  }
  const hubPg = [...r.hub.window.ticks].find(([n]) => n.startsWith('postgres: backends of '))?.[1] ?? 0;
  const floorPg = [...r.floor.window.ticks].find(([n]) => n.startsWith('postgres: backends of '))?.[1] ?? 0;
  row("postgres: this run's database backends", perDelivery(r.hub, hubPg), perDelivery(r.floor, floorPg));
  // Where the hub's share goes: the backends of each service's pool (application_name); the rest
  // is this bench's own drain checks at the end of the window.
  let served = 0;
  for (const name of SERVICES) {
    const ticks = r.hub.window.ticks.get(pgServing(name)) ?? 0;
    served += ticks;
    if (ticks > 0) row(`  of which serving ${name}`, perDelivery(r.hub, ticks), undefined);
  }
  row('  of which the rest (this bench)', perDelivery(r.hub, hubPg - served), undefined);
  hubTotal += hubPg;
  floorTotal += floorPg;
  for (const name of ['postgres: background (shared)', 'redis (shared)', 'kafka broker (shared)']) {
    const h = r.hub.window.ticks.get(name);
    const f = r.floor.window.ticks.get(name);
    if (h === undefined || f === undefined) continue;
    row(name, perDelivery(r.hub, h), perDelivery(r.floor, f));
    hubTotal += h;
    floorTotal += f;
  }
  const hubMs = perDelivery(r.hub, hubTotal);
  const floorMs = perDelivery(r.floor, floorTotal);
  row('total', hubMs, floorMs);
  out(`  ratio hub ÷ floor: ${(hubMs / floorMs).toFixed(2)} (CPU per delivered attempt; the load generator is not counted)`);
  return { idleTotal: r.idle.percent(servicesTicks), rss: [...r.rss.values()], rssFloor: r.rssFloor, hubMs, floorMs };
}

async function main(): Promise<number> {
  const admin = openPostgres(infra.adminUrl, { max: 1, onnotice: () => {} });
  const infraPids: Infra = {
    admin,
    postmaster: listenerPid(portOf(infra.adminUrl, 5432)),
    redis: listenerPid(portOf(infra.redisUrl, 6379)),
    kafka: listenerPid(Number(infra.brokers[0]!.split(':')[1] ?? 9092)),
  };
  for (const [name, pid] of Object.entries({ postgres: infraPids.postmaster, redis: infraPids.redis, kafka: infraPids.kafka })) {
    if (pid === undefined) say(`WARNING: no PID found listening for ${name} (ss -ltnp; needs root for other users' sockets): its line is left out`);
  }
  out(`bench:cost: ${runs} run(s); idle ${idleSeconds} s after ${settleSeconds} s settling; load ${rate} notifications/s × 4 channels for ${loadSeconds} s; infrastructure PIDs postgres ${infraPids.postmaster ?? '?'}, redis ${infraPids.redis ?? '?'}, kafka ${infraPids.kafka ?? '?'}`);
  out('numbers are indicative: everything, and other work, shares this machine');
  const summary: Summary[] = [];
  let failed = false;
  try {
    for (let run = 1; run <= runs; run++) summary.push(report(run, await runOnce(run, infraPids)));
  } catch (err) {
    say(`bench:cost failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    failed = true;
  } finally {
    await admin.end();
  }
  if (summary.length > 1) {
    out('\nsummary: run, seven services idle (% of one core), service idle RSS min–max / RSS floor, CPU per delivered attempt hub / floor (ms), ratio');
    summary.forEach((s, i) =>
      out(
        `  ${i + 1}  ${s.idleTotal.toFixed(2)}%  ${mb(Math.min(...s.rss))}–${mb(Math.max(...s.rss))} / ${mb(s.rssFloor)}  ` +
          `${s.hubMs.toFixed(3)} / ${s.floorMs.toFixed(3)} ms  ${(s.hubMs / s.floorMs).toFixed(2)}`,
      ),
    );
  }
  return failed ? 1 : 0;
}

process.exit(await main());
