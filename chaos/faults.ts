// The fault schedule, run while the load is offered. Two tracks run side by side:
//   pipeline: the dispatcher SIGTERM, then rounds of dispatcher SIGKILLs (all four channels,
//             staggered) with the relay SIGKILLs between them, and the Kafka broker restart last;
//   edge:     ingest-api SIGKILLs and SIGTERM, and the Redis restart, at fixed fractions of the
//             load window (each waits until the previous one's restart is ready).
// Ordering matters for what can be measured. A SIGKILLed dispatcher's in-flight deliveries come
// back when their 12 s lease runs out (+ the 2 s first backoff), and its consumer group stalls
// until the dead member's 10 s session times out; a broker restart (~30 s down on this machine)
// or a consumer backlog in between would be measured instead of the lease recovery. So each
// dispatcher is faulted only once it (or its restarted self) sends to the vendor again and its
// channel has no backlog (every kill then finds sends in flight, and their retry does not queue
// behind a stall), and the broker restarts only after the last kill's retries are due.
import { Kafka, logLevel } from 'kafkajs';
import { CHANNELS, type Channel } from '@hub/domain';
import { vendorSlot, type CountingVendor } from './counting-vendor.ts';
import { now, run, type ManagedProcess, type PrivateKafka } from './processes.ts';

export interface Hub {
  ingest: ManagedProcess[];
  admin: ManagedProcess[];
  relay: ManagedProcess[];
  dispatchers: Record<Channel, ManagedProcess[]>;
  redis: ManagedProcess;
  redisPort: number;
  kafka: PrivateKafka;
  vendor: CountingVendor;
}

export interface FaultPlan {
  /** SIGKILL + restart of each dispatcher, this many times. */
  dispatcherKills: number;
  relayKills: number;
  ingestKills: number;
  /** SIGKILL + restart of admin-api (the operator API holds no delivery state: it must simply come back). */
  adminKills: number;
  ingestTerms: number;
  /** SIGTERM + restart of one dispatcher (EMAIL), this many times. */
  dispatcherTerms: number;
  brokerRestart: boolean;
  redisRestart: boolean;
  /** Seconds of vendor outage (503 from every vendor), 0 for none. */
  outageSeconds: number;
}

export interface BrokerRestart {
  /** kafka.sh down started. */
  downAt: number;
  /** kafka.sh down returned (the broker process is gone). */
  stoppedAt?: number;
  /** Our own metadata probe (every 250 ms) first succeeded again. */
  answersAt?: number;
  /** kafka.sh up returned. */
  upAt?: number;
  error?: string;
}

export interface FaultLog {
  broker?: BrokerRestart;
  redis: { downAt: number; upAt?: number }[];
  outage?: { from: number; to?: number };
  /** Dispatcher kills with the vendor slot of the killed process (push-1.g2: what its sends are recorded under). */
  dispatcherKills: { slot: string; vendorSlot: string; channel: Channel; at: number; backlog: number }[];
  dispatcherTerms: { slot: string; vendorSlot: string; channel: Channel; at: number; exitedAt: number }[];
  ingestTerms: { slot: string; at: number; exitedAt: number }[];
  ingestKills: { slot: string; at: number }[];
  adminKills: { slot: string; at: number }[];
  relayKills: { slot: string; at: number }[];
  /** Consumer group states seen by a watcher from the broker's stop until every dispatcher sent again. */
  groups: { group: string; at: number; state: string; members: number }[];
  /** Restarted processes that did not become ready in time. */
  notReady: string[];
  notes: string[];
}

interface Context {
  hub: Hub;
  plan: FaultPlan;
  /** Epoch ms the load started, and its planned length in ms. */
  loadStart: number;
  loadMs: number;
  say: (line: string) => void;
  log: FaultLog;
  stopped: () => boolean;
  /** Epoch ms the run started (times in notes are relative to it, like the report's). */
  origin: number;
  /** Deliveries of `channel` due and not yet claimed (waiting in Kafka): its consumer backlog. */
  backlog: (channel: Channel) => Promise<number>;
  /** The backlog a channel may have when it is faulted (about a second of its arrivals). */
  backlogLimit: (channel: Channel) => number;
  /** Consumer groups of the dispatchers (both lanes of every channel), watched across the broker restart. */
  groups: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const rel = (ctx: Context, at: number) => `${((at - ctx.origin) / 1000).toFixed(1)} s`;

export function emptyFaultLog(): FaultLog {
  return { redis: [], dispatcherKills: [], dispatcherTerms: [], ingestTerms: [], ingestKills: [], adminKills: [], relayKills: [], groups: [], notReady: [], notes: [] };
}

/** Runs every fault of the plan; resolves when the last one (and its restart) is done. */
export async function runFaults(ctx: Context): Promise<void> {
  await Promise.all([pipelineTrack(ctx), edgeTrack(ctx), outageTrack(ctx)]);
}

async function outageTrack(ctx: Context): Promise<void> {
  if (ctx.plan.outageSeconds <= 0) return;
  await sleep(ctx.loadStart + 2_000 - now());
  const from = await ctx.hub.vendor.setOutage(true);
  ctx.log.outage = { from };
  ctx.say(`vendor outage: every vendor answers 503 for ${ctx.plan.outageSeconds} s`);
  await sleep(from + ctx.plan.outageSeconds * 1_000 - now());
  ctx.log.outage.to = await ctx.hub.vendor.setOutage(false);
  ctx.say('vendor outage over: the vendors answer again');
}

async function restartInBackground(ctx: Context, proc: ManagedProcess): Promise<void> {
  if (!(await proc.restart())) ctx.log.notReady.push(`${proc.slot} (restarted at ${rel(ctx, now())})`);
}

/**
 * ingest-api SIGTERM first (measured on a process in its steady state, not on one just restarted
 * into a burst of retries), then its SIGKILLs and the Redis restart, at fractions of the load
 * window; each step at least 3 s after the previous one's restart became ready.
 */
async function edgeTrack(ctx: Context): Promise<void> {
  const { plan, hub } = ctx;
  const steps: { at: number; run: () => Promise<void> }[] = [];
  const killFractions = plan.ingestKills === 1 ? [0.5] : Array.from({ length: plan.ingestKills }, (_, i) => 0.4 + (0.35 * i) / Math.max(1, plan.ingestKills - 1));
  let replica = 0;
  const nextIngest = () => hub.ingest[replica++ % hub.ingest.length]!;
  for (const fraction of killFractions) {
    steps.push({
      at: fraction,
      run: async () => {
        const proc = nextIngest();
        const { at } = await proc.signal('SIGKILL');
        ctx.log.ingestKills.push({ slot: proc.slot, at });
        await restartInBackground(ctx, proc);
      },
    });
  }
  for (let i = 0; i < plan.ingestTerms; i++) {
    steps.push({
      at: 0.15 + 0.05 * i,
      run: async () => {
        const proc = nextIngest();
        const { at, exitedAt } = await proc.signal('SIGTERM');
        ctx.log.ingestTerms.push({ slot: proc.slot, at, exitedAt });
        await restartInBackground(ctx, proc);
      },
    });
  }
  for (let i = 0; i < plan.adminKills; i++) {
    steps.push({
      at: 0.2 + (0.6 * i) / Math.max(1, plan.adminKills - 1),
      run: async () => {
        const proc = hub.admin[i % hub.admin.length]!;
        const { at } = await proc.signal('SIGKILL');
        ctx.log.adminKills.push({ slot: proc.slot, at });
        await restartInBackground(ctx, proc);
      },
    });
  }
  if (plan.redisRestart) {
    steps.push({ at: plan.ingestKills > 1 ? 0.55 : 0.7, run: () => restartRedis(ctx) });
  }
  steps.sort((a, b) => a.at - b.at);
  let settledAt = 0;
  for (const step of steps) {
    if (ctx.stopped()) return;
    await sleep(Math.max(ctx.loadStart + step.at * ctx.loadMs, settledAt + 3_000) - now());
    await step.run().catch((err: unknown) => ctx.log.notes.push(`edge fault failed: ${String(err)}`));
    settledAt = now();
  }
}

/**
 * Redis without persistence, restarted the way an operator would: SHUTDOWN NOSAVE, then the same
 * command line. Its keys (idempotency fast path, rate limits, callback replay guard) are gone.
 */
async function restartRedis(ctx: Context): Promise<void> {
  const { hub } = ctx;
  const downAt = now();
  ctx.log.redis.push({ downAt });
  await hub.redis.stopWith(async () => {
    await run('redis-cli', ['-h', '127.0.0.1', '-p', String(hub.redisPort), 'SHUTDOWN', 'NOSAVE'], { env: {}, logFile: hub.redis.spec.logFile, timeoutMs: 10_000 }).catch(() => {
      // redis-cli reports the connection closing under it as an error: the exit is what counts.
    });
  });
  ctx.say('redis stopped (SHUTDOWN NOSAVE); starting it again in 2 s');
  await sleep(2_000);
  const ready = await hub.redis.restart(30_000);
  ctx.log.redis.at(-1)!.upAt = now();
  if (!ready) ctx.log.notReady.push('redis');
}

/** Dispatcher SIGTERM, dispatcher SIGKILL rounds with relay SIGKILLs, then the broker restart. */
async function pipelineTrack(ctx: Context): Promise<void> {
  const { plan } = ctx;
  await sleep(ctx.loadStart + 0.06 * ctx.loadMs - now());
  if (ctx.stopped()) return;
  const terms = dispatcherTerms(ctx);
  await Promise.all([terms, dispatcherKills(ctx, terms), relayKills(ctx)]);
  if (!plan.brokerRestart || ctx.stopped()) return;
  // The last kills' deliveries come back ~22 s after them (lease + first backoff): not during the restart.
  const lastKill = Math.max(0, ...ctx.log.dispatcherKills.map((k) => k.at));
  if (lastKill > 0) await sleep(lastKill + 30_000 - now());
  await restartBroker(ctx);
}

async function relayKills(ctx: Context): Promise<void> {
  const startedAt = now();
  for (let i = 0; i < ctx.plan.relayKills; i++) {
    await sleep(startedAt + 3_000 + i * 12_000 - now());
    if (ctx.stopped()) return;
    const proc = ctx.hub.relay[i % ctx.hub.relay.length]!;
    const { at } = await proc.signal('SIGKILL');
    ctx.log.relayKills.push({ slot: proc.slot, at });
    await restartInBackground(ctx, proc);
  }
}

/** SIGTERM of EMAIL's dispatcher: a drain must finish what it sent and release the rest. */
async function dispatcherTerms(ctx: Context): Promise<void> {
  const { plan, hub } = ctx;
  for (let i = 0; i < plan.dispatcherTerms; i++) {
    const replica = i % hub.dispatchers.EMAIL.length;
    const proc = hub.dispatchers.EMAIL[replica]!;
    const slot = vendorSlot('EMAIL', replica + 1);
    await readyToFault(ctx, 'EMAIL', slot, proc);
    const generation = proc.generation;
    const { at, exitedAt } = await proc.signal('SIGTERM');
    ctx.log.dispatcherTerms.push({ slot: proc.slot, vendorSlot: `${slot}.g${generation}`, channel: 'EMAIL', at, exitedAt });
    await restartInBackground(ctx, proc);
  }
}

/** Rounds of SIGKILLs, the four channels side by side (staggered), one replica at a time; EMAIL after its SIGTERM. */
async function dispatcherKills(ctx: Context, terms: Promise<void>): Promise<void> {
  const { plan, hub } = ctx;
  await Promise.all(
    CHANNELS.map(async (channel, c) => {
      await sleep(1_500 * c);
      if (channel === 'EMAIL') await terms;
      for (let round = 0; round < plan.dispatcherKills; round++) {
        if (ctx.stopped()) return;
        const replica = (round + c) % hub.dispatchers[channel].length;
        const proc = hub.dispatchers[channel][replica]!;
        const slot = vendorSlot(channel, replica + 1);
        await readyToFault(ctx, channel, slot, proc);
        const backlog = await ctx.backlog(channel).catch(() => -1);
        const generation = proc.generation;
        const { at } = await proc.signal('SIGKILL');
        ctx.log.dispatcherKills.push({ slot: proc.slot, vendorSlot: `${slot}.g${generation}`, channel, at, backlog });
        await restartInBackground(ctx, proc);
      }
    }),
  );
}

/**
 * A dispatcher is worth faulting once it sends again after its (re)start, its channel has no
 * backlog (else the retry we time would queue behind it), and a send has just started (so one
 * is in flight at the fault: the counting vendor answers after 20 ms at the earliest). Bounded.
 */
async function readyToFault(ctx: Context, channel: Channel, slot: string, proc: ManagedProcess): Promise<void> {
  await sentSince(ctx, slot, proc.startedAt ?? 0, 45_000);
  const deadline = now() + 15_000;
  let backlog = await ctx.backlog(channel).catch(() => 0);
  while (backlog > ctx.backlogLimit(channel) && now() < deadline && !ctx.stopped()) {
    await sleep(500);
    backlog = await ctx.backlog(channel).catch(() => 0);
  }
  if (backlog > ctx.backlogLimit(channel)) ctx.log.notes.push(`${slot} faulted at ${rel(ctx, now())} with a backlog of ${backlog} (waited 15 s for it to drain)`);
  const busyUntil = now() + 10_000;
  while (now() < busyUntil && !ctx.stopped()) {
    const last = await ctx.hub.vendor.lastSend(slot).catch(() => null);
    if (last !== null && now() - last < 15) return;
    await sleep(10);
  }
}

/** Waits until the dispatcher instance `slot` sent something after `since` (bounded). */
async function sentSince(ctx: Context, slot: string, since: number, timeoutMs: number): Promise<boolean> {
  const deadline = now() + timeoutMs;
  while (now() < deadline && !ctx.stopped()) {
    const last = await ctx.hub.vendor.lastSend(slot).catch(() => null);
    if (last !== null && last > since) return true;
    await sleep(250);
  }
  ctx.log.notes.push(`${slot} had not sent since ${rel(ctx, since)} after waiting ${timeoutMs / 1000} s; faulted anyway`);
  return false;
}

/** Consumer group states every 500 ms until `done()`: who holds up a rebalance after the broker restart. */
async function watchGroups(ctx: Context, done: () => boolean): Promise<void> {
  const last = new Map<string, string>();
  while (!done()) {
    const kafka = new Kafka({
      clientId: 'chaos-groups',
      brokers: ctx.hub.kafka.brokers,
      connectionTimeout: 1_000,
      requestTimeout: 2_000,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 300 },
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const { groups } = await admin.describeGroups(ctx.groups);
      const at = now();
      for (const g of groups) {
        const seen = `${g.state}/${g.members.length}`;
        if (last.get(g.groupId) !== seen) {
          last.set(g.groupId, seen);
          ctx.log.groups.push({ group: g.groupId, at, state: g.state, members: g.members.length });
        }
      }
    } catch (err) {
      // The broker is down or its coordinator is loading: recorded once per kind of error.
      const seen = `error: ${err instanceof Error ? err.message.slice(0, 80) : String(err)}`;
      if (last.get('*') !== seen) {
        last.set('*', seen);
        ctx.log.groups.push({ group: '*', at: now(), state: seen, members: 0 });
      }
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await sleep(500);
  }
}

/** kafka.sh down, then up; our own probe times when the broker answers metadata again. */
async function restartBroker(ctx: Context): Promise<void> {
  const record: BrokerRestart = { downAt: now() };
  ctx.log.broker = record;
  ctx.say('kafka broker: kafka.sh down');
  try {
    await ctx.hub.kafka.down();
  } catch (err) {
    record.error = `kafka.sh down failed: ${String(err)}`;
    ctx.say(record.error);
  }
  record.stoppedAt = now();
  let watching = true;
  const watcher = watchGroups(ctx, () => !watching);
  ctx.say(`kafka broker stopped after ${((record.stoppedAt - record.downAt) / 1000).toFixed(1)} s; kafka.sh up`);
  let probing = true;
  const probe = (async () => {
    while (probing) {
      if (await brokerAnswers(ctx.hub.kafka.brokers)) {
        record.answersAt = now();
        return;
      }
      await sleep(250);
    }
  })();
  try {
    await ctx.hub.kafka.up();
  } catch (err) {
    record.error = `${record.error ? `${record.error}; ` : ''}kafka.sh up failed: ${String(err)}`;
    ctx.say(record.error);
  }
  record.upAt = now();
  // The probe may still be between two tries: give it a few seconds, never forever.
  await Promise.race([probe, sleep(10_000)]);
  probing = false;
  // Watch the groups until every dispatcher instance sent again (bounded), then stop.
  const back = record.answersAt ?? now();
  const slots = CHANNELS.flatMap((channel) => ctx.hub.dispatchers[channel].map((_, i) => vendorSlot(channel, i + 1)));
  const until = now() + 45_000;
  for (;;) {
    const lasts = await Promise.all(slots.map((slot) => ctx.hub.vendor.lastSend(slot).catch(() => null)));
    if (lasts.every((l) => l !== null && l > back) || now() > until) break;
    await sleep(250);
  }
  watching = false;
  await watcher;
  ctx.say(
    record.answersAt
      ? `kafka broker answers again ${((record.answersAt - record.stoppedAt) / 1000).toFixed(1)} s after it stopped (kafka.sh up returned ${((record.upAt - record.answersAt) / 1000).toFixed(1)} s later)`
      : 'kafka broker did NOT answer again',
  );
}

/** One metadata round trip with a throwaway client that does not retry. */
async function brokerAnswers(brokers: string[]): Promise<boolean> {
  const kafka = new Kafka({ clientId: 'chaos-probe', brokers, connectionTimeout: 1_000, requestTimeout: 2_000, retry: { retries: 0 }, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
