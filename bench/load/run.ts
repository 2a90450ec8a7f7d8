// The reference load scenarios of SPEC §6 against a running hub, open-loop (request i is due at
// t0 + i / rate whatever the answers), each with its thresholds and a PASS/FAIL line per
// threshold, then `N passed, N failed` (exit code 1 if any failed).
//
//   npm run load -- <single|multi|saturation|history|callbacks|all> [flags]
//     --rate x2 | --rate 2     multiply every scenario's rate (default 1)
//     --seconds 60             every scenario's duration (default: SPEC §6's, 60 s / 45 s)
//     --start                  start the hub itself (fresh database and topic namespace, the
//                              seven services with mock vendors), stop and remove it afterwards
//     --url http://127.0.0.1:8080   the running hub's ingest-api (also LOAD_INGEST_URL)
//     --token <jwt>            Bearer token when the hub checks JWTs (also LOAD_BEARER_TOKEN)
//     --connections 256        keep-alive connections of the open-loop generator
//     --max-lag-ms 100         a request the generator could not send this late is dropped
//     --max-outstanding 4000   a request due while this many are unanswered is dropped
//     --concurrency 32         closed-loop concurrency of the callbacks throughput ratio
//     --ratio-seconds 15       duration of each closed-loop run of that ratio
//     --skip-baseline          callbacks without the minimal-handler baseline
//
// The generator is a process of its own (bench/load/generator.ts) and reports its CPU; a
// WARNING says when it, not the hub, was the limit (over ~70% of a core, or behind schedule).
// Each scenario creates its own recipients through the public API. Rate limits stay at the
// hub's (SPEC §3 defaults, or RATE_LIMIT_* in this script's environment, which must match the
// hub's): the scenarios that must not be limited spread their load over enough recipients that
// no recipient × channel exceeds its limit, so saturation (one recipient) is limited as it must
// be by the same hub. Receipts are signed with WEBHOOK_SECRET_* (the `npm start` defaults).
// The callbacks scenario also runs a minimal node:http handler (bench/load/callback-baseline.ts:
// same HMAC check, Redis replay mark and Postgres lookup) and drives it and the hub closed-loop
// at the same concurrency: hub throughput ÷ baseline throughput. That, and the quiet wait
// between scenarios, need the hub's database: DATABASE_URL (default that of `npm start`, with
// --start the fresh database).
import { randomBytes } from 'node:crypto';
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { openPostgres } from '@hub/db';
import { freePort } from '../../shared/testing/src/ports.ts';
import { LocalHub, WEBHOOK_SECRETS, deleteRedisPrefix, infra } from '../lib/local-hub.ts';
import { busyPercent, machineTicks } from '../lib/proc-stats.ts';
import { GeneratorProcess } from './generator-process.ts';
import { percentile, type ClassStats, type DriveResult, type DriveSpec, type Vendor, type Work } from './plan.ts';

const SCENARIO_NAMES = ['single', 'multi', 'saturation', 'history', 'callbacks'] as const;
type ScenarioName = (typeof SCENARIO_NAMES)[number];

// SPEC §6: rate (per second) and duration of each scenario.
const REFERENCE: Record<ScenarioName, { rate: number; seconds: number; what: string }> = {
  single: { rate: 200, seconds: 60, what: 'single-channel PUSH send' },
  multi: { rate: 100, seconds: 60, what: '4-channel fan-out send' },
  saturation: { rate: 100, seconds: 60, what: 'rate-limit saturation (1 recipient)' },
  history: { rate: 150, seconds: 60, what: 'history with cursor' },
  callbacks: { rate: 500, seconds: 45, what: 'signed vendor callbacks (80% valid, 10% replayed −10 min, 10% wrong secret)' },
};

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  strict: true,
  options: {
    rate: { type: 'string', default: '1' },
    seconds: { type: 'string' },
    start: { type: 'boolean', default: false },
    url: { type: 'string' },
    token: { type: 'string' },
    connections: { type: 'string', default: '256' },
    'max-lag-ms': { type: 'string', default: '100' },
    'max-outstanding': { type: 'string', default: '4000' },
    concurrency: { type: 'string', default: '32' },
    'ratio-seconds': { type: 'string', default: '15' },
    'skip-baseline': { type: 'boolean', default: false },
  },
});

const usage = `usage: npm run load -- <${SCENARIO_NAMES.join('|')}|all> [--rate x2] [--seconds 60] [--start] [--url http://127.0.0.1:8080]`;
const positive = (name: string, value: string): number => {
  const n = Number(value.replace(/^x/i, ''));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${value}\n${usage}`);
  return n;
};
const chosen = positionals[0];
if (positionals.length !== 1 || !(chosen === 'all' || (SCENARIO_NAMES as readonly string[]).includes(chosen!))) {
  console.error(usage);
  process.exit(2);
}
const scenarios: ScenarioName[] = chosen === 'all' ? [...SCENARIO_NAMES] : [chosen as ScenarioName];
const multiplier = positive('rate', flags.rate);
const secondsOverride = flags.seconds === undefined ? undefined : positive('seconds', flags.seconds);
const connections = positive('connections', flags.connections);
const maxLagMs = positive('max-lag-ms', flags['max-lag-ms']);
const maxOutstanding = positive('max-outstanding', flags['max-outstanding']);
const concurrency = positive('concurrency', flags.concurrency);
const ratioSeconds = positive('ratio-seconds', flags['ratio-seconds']);
const token = flags.token ?? process.env.LOAD_BEARER_TOKEN;
const authHeaders: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};

// The hub's limits (SPEC §3 defaults); the recipients of each scenario are sized for them.
const limits = {
  PUSH: Number(process.env.RATE_LIMIT_PUSH ?? 30),
  EMAIL: Number(process.env.RATE_LIMIT_EMAIL ?? 30),
  SMS: Number(process.env.RATE_LIMIT_SMS ?? 5),
  KAKAO_ALIMTALK: Number(process.env.RATE_LIMIT_KAKAO_ALIMTALK ?? 5),
  windowMs: Number(process.env.RATE_LIMIT_WINDOW_MS ?? 60_000),
};

const runId = randomBytes(3).toString('hex');
const say = (line: string) => console.error(`[load ${new Date().toISOString().slice(11, 19)}] ${line}`);
const out = (line: string) => console.log(line);

// ------------------------------------------------------------------ verdicts

interface Verdict {
  scenario: string;
  passed: boolean;
  line: string;
}
const verdicts: Verdict[] = [];
function verdict(scenario: string, threshold: string, passed: boolean, measured: string): void {
  verdicts.push({ scenario, passed, line: `${passed ? 'PASS' : 'FAIL'}  ${scenario.padEnd(10)} ${threshold.padEnd(42)} measured ${measured}` });
  out(verdicts.at(-1)!.line);
}

const pct = (part: number, whole: number) => (whole === 0 ? 0 : (100 * part) / whole);
const fmtPct = (x: number) => `${x.toFixed(2)}%`;
const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : 'n/a');
const count = (stats: ClassStats | undefined, status: number | ((s: number) => boolean)) =>
  Object.entries(stats?.statuses ?? {}).reduce((sum, [code, n]) => sum + ((typeof status === 'number' ? Number(code) === status : status(Number(code))) ? n : 0), 0);
const answered = (stats: ClassStats | undefined) => stats?.latencies.length ?? 0;

/** A drive, with the machine's busy share (all cores) while it ran. */
async function driveMeasured(generator: GeneratorProcess, spec: DriveSpec): Promise<DriveResult & { machineBusy: number }> {
  const before = machineTicks();
  const result = await generator.drive(spec);
  return { ...result, machineBusy: busyPercent(before, machineTicks()) };
}

function describe(result: DriveResult & { machineBusy: number }): void {
  const dropped = result.droppedLate + result.droppedOutstanding;
  for (const [cls, stats] of Object.entries(result.classes)) {
    const statuses = Object.entries(stats.statuses)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([code, n]) => `${code} ×${n}`)
      .join(', ');
    const l = stats.latencies;
    out(
      `  ${cls === 'all' ? '' : `${cls}: `}sent ${stats.sent}; answers ${statuses || 'none'}; no answer ${stats.failures}` +
        `${stats.failureSamples.length > 0 ? ` (${stats.failureSamples[0]})` : ''}; latency p50 ${ms(percentile(l, 50))}, p95 ${ms(percentile(l, 95))}, p99 ${ms(percentile(l, 99))}, max ${ms(l.at(-1) ?? NaN)}`,
    );
  }
  out(
    `  generator: ${result.scheduled} due, ${dropped} dropped (${result.droppedLate} late > ${maxLagMs} ms, ${result.droppedOutstanding} over ${maxOutstanding} outstanding); ` +
      `CPU ${result.cpuPercent.toFixed(0)}% of one core; schedule lag p99 ${ms(result.lagP99Ms)}, max ${ms(result.lagMaxMs)}; peak outstanding ${result.peakOutstanding}; ` +
      `offered over ${result.offerSeconds.toFixed(1)} s, last answer after ${result.elapsedSeconds.toFixed(1)} s; machine ${result.machineBusy.toFixed(0)}% busy (all cores, everything on it)`,
  );
  if (result.cpuPercent > 70) out(`  WARNING: the generator used ${result.cpuPercent.toFixed(0)}% of a core: it, not the hub, may be the limit`);
  if (result.droppedLate > 0 || result.lagP99Ms > 20) {
    out(
      `  WARNING: the generator fell behind its schedule (${result.droppedLate} dropped late, lag p99 ${ms(result.lagP99Ms)}) at ${result.cpuPercent.toFixed(0)}% of a core: ` +
        `the offered rate was not sent on time, so the generator${result.cpuPercent > 70 ? '' : ' or the machine it shares'}, not only the hub, was the limit`,
    );
  }
}

// ------------------------------------------------------------------ the hub's public API (set-up)

class Api {
  private readonly pool: Pool;
  constructor(baseUrl: string) {
    this.pool = new Pool(baseUrl, { connections: 16, keepAliveTimeout: 30_000, headersTimeout: 30_000, bodyTimeout: 30_000 });
  }

  async call<T>(method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: T }> {
    const response = await this.pool.request({
      method,
      path,
      headers: { ...authHeaders, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.body.text();
    return { status: response.statusCode, json: (text ? JSON.parse(text) : undefined) as T };
  }

  async must<T>(method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const { status, json } = await this.call<T>(method, path, body, headers);
    if (status >= 300) throw new Error(`set-up ${method} ${path} answered ${status}: ${JSON.stringify(json).slice(0, 300)}`);
    return json;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Runs `work` for 0..n-1, `parallel` at a time. */
async function each(n: number, parallel: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, async () => {
    while (next < n) await work(next++);
  }));
}

interface RecipientShape {
  push: boolean;
  directory: boolean;
}

/** PUT /recipients, POST /devices, quiet hours off (Kakao is removed inside quiet hours even for SECURITY). */
async function createRecipients(api: Api, prefix: string, n: number, shape: RecipientShape): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `load-${runId}-${prefix}-${i}`);
  const started = performance.now();
  await each(n, 32, async (i) => {
    const id = ids[i]!;
    const phone = `+8210${String(10_000_000 + ((i * 7_919) % 89_999_999))}`;
    await api.must('PUT', `/api/v1/recipients/${id}`, {
      channels: shape.directory
        ? [
            { type: 'EMAIL', address: `${id}@example.com` },
            { type: 'SMS', address: phone },
            { type: 'KAKAO_ALIMTALK', address: phone },
          ]
        : [],
    });
    if (shape.push) await api.must('POST', '/api/v1/devices', { recipientId: id, platform: 'ANDROID', token: `${id}-device-${'x'.repeat(32)}` });
    if (shape.directory) await api.must('PUT', `/api/v1/users/${id}/preferences`, { disableQuietHours: true });
  });
  say(`${n} recipients "${prefix}" created in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return ids;
}

/** Recipients enough that round-robin sending at `rate` keeps every recipient × channel under its limit. */
function recipientsFor(rate: number, seconds: number, limit: number): number {
  const perWindow = rate * Math.min(seconds, limits.windowMs / 1_000);
  return Math.max(8, Math.ceil(perWindow / Math.max(1, limit - 1)));
}

async function sendOne(api: Api, recipientId: string): Promise<string> {
  const { notificationId } = await api.must<{ notificationId: string }>(
    'POST',
    '/api/v1/notifications',
    { recipientId, kind: 'SECURITY', title: 'Set-up', body: 'Load scenario set-up' },
    { 'idempotency-key': `load-${runId}-${randomBytes(8).toString('hex')}` },
  );
  return notificationId;
}

// ------------------------------------------------------------------ scenarios

interface Context {
  api: Api;
  generator: GeneratorProcess;
  baseUrl: string;
  dbUrl: string;
}

const rateOf = (name: ScenarioName) => REFERENCE[name].rate * multiplier;
const secondsOf = (name: ScenarioName) => secondsOverride ?? REFERENCE[name].seconds;

function openLoop(ctx: Context, name: ScenarioName, work: Work): Promise<DriveResult & { machineBusy: number }> {
  const spec: DriveSpec = {
    baseUrl: ctx.baseUrl,
    headers: authHeaders,
    work,
    pace: { type: 'open', rate: rateOf(name), seconds: secondsOf(name), maxLagMs, maxOutstanding },
    connections,
    timeoutMs: 10_000,
  };
  return driveMeasured(ctx.generator, spec);
}

function header(name: ScenarioName, detail: string): void {
  out(`\n== ${name}: ${REFERENCE[name].what} — ${rateOf(name)}/s × ${secondsOf(name)} s open-loop${multiplier === 1 ? '' : ` (${multiplier}× the reference ${REFERENCE[name].rate}/s)`}; ${detail}`);
}

/** Requests that got no wanted answer: any other status, no answer, or dropped by the generator. */
function errorShare(result: DriveResult, wanted: number): { errors: number; of: number } {
  const stats = result.classes.all;
  const of = result.scheduled;
  return { errors: of - count(stats, wanted), of };
}

async function single(ctx: Context): Promise<void> {
  const n = recipientsFor(rateOf('single'), secondsOf('single'), limits.PUSH);
  const recipients = await createRecipients(ctx.api, 'single', n, { push: true, directory: false });
  header('single', `${n} PUSH-only recipients in turn (RATE_LIMIT_PUSH ${limits.PUSH})`);
  const result = await openLoop(ctx, 'single', { kind: 'send', recipients });
  describe(result);
  const { errors, of } = errorShare(result, 202);
  const l = result.classes.all?.latencies ?? [];
  verdict('single', 'errors < 1% (not 202, no answer, dropped)', pct(errors, of) < 1, `${fmtPct(pct(errors, of))} (${errors} of ${of})`);
  verdict('single', 'p95 < 100 ms', percentile(l, 95) < 100, ms(percentile(l, 95)));
  verdict('single', 'p99 < 250 ms', percentile(l, 99) < 250, ms(percentile(l, 99)));
}

async function multi(ctx: Context): Promise<void> {
  const limit = Math.min(limits.PUSH, limits.EMAIL, limits.SMS, limits.KAKAO_ALIMTALK);
  const n = recipientsFor(rateOf('multi'), secondsOf('multi'), limit);
  const recipients = await createRecipients(ctx.api, 'multi', n, { push: true, directory: true });
  header('multi', `${n} recipients with PUSH, EMAIL, SMS and Kakao in turn (lowest limit ${limit})`);
  const result = await openLoop(ctx, 'multi', { kind: 'send', recipients });
  describe(result);
  const stats = result.classes.all;
  const { errors, of } = errorShare(result, 202);
  const l = stats?.latencies ?? [];
  const limited = count(stats, 429);
  verdict('multi', 'errors < 5% (not 202, no answer, dropped)', pct(errors, of) < 5, `${fmtPct(pct(errors, of))} (${errors} of ${of})`);
  verdict('multi', 'p95 < 300 ms', percentile(l, 95) < 300, ms(percentile(l, 95)));
  verdict('multi', 'p99 < 700 ms', percentile(l, 99) < 700, ms(percentile(l, 99)));
  verdict('multi', 'every 429 carries RATE_LIMIT_EXCEEDED', (stats?.rateLimitCoded ?? 0) === limited, `${stats?.rateLimitCoded ?? 0} of ${limited}`);
}

async function saturation(ctx: Context): Promise<void> {
  const [recipient] = await createRecipients(ctx.api, 'saturation', 1, { push: true, directory: false });
  header('saturation', `one PUSH-only recipient (RATE_LIMIT_PUSH ${limits.PUSH} per ${limits.windowMs / 1000} s)`);
  if (limits.PUSH * Math.ceil(secondsOf('saturation') / (limits.windowMs / 1_000)) > 0.05 * rateOf('saturation') * secondsOf('saturation')) {
    out(`  NOTE: with RATE_LIMIT_PUSH ${limits.PUSH} more than 5% can be accepted: this scenario needs the SPEC §3 default limits`);
  }
  const result = await openLoop(ctx, 'saturation', { kind: 'send', recipients: [recipient!] });
  describe(result);
  const stats = result.classes.all;
  const limited = count(stats, 429);
  const serverErrors = count(stats, (s) => s >= 500);
  verdict('saturation', '> 95% rejected with 429', pct(limited, result.scheduled) > 95, `${fmtPct(pct(limited, result.scheduled))} (${limited} of ${result.scheduled})`);
  verdict('saturation', 'Retry-After on > 99% of 429s', limited > 0 && pct(stats?.retryAfter ?? 0, limited) > 99, `${fmtPct(pct(stats?.retryAfter ?? 0, limited))} (${stats?.retryAfter ?? 0} of ${limited})`);
  verdict('saturation', '< 10 5xx', serverErrors < 10, String(serverErrors));
}

async function history(ctx: Context): Promise<void> {
  const recipients = await createRecipients(ctx.api, 'history', 8, { push: true, directory: false });
  // History to page through, inside the PUSH limit (these sends are set-up, not load).
  const perRecipient = Math.max(1, Math.min(25, limits.PUSH - 1));
  await each(recipients.length * perRecipient, 16, async (i) => void (await sendOne(ctx.api, recipients[i % recipients.length]!)));
  const limit = 10;
  const pages: { recipientId: string; cursor: string | null }[] = [];
  for (const recipientId of recipients) {
    let cursor: string | null = null;
    do {
      pages.push({ recipientId, cursor });
      const query: string = new URLSearchParams({ recipientId, limit: String(limit), ...(cursor ? { cursor } : {}) }).toString();
      const page: { nextCursor: string | null } = await ctx.api.must('GET', `/api/v1/notifications/me?${query}`);
      cursor = page.nextCursor;
    } while (cursor !== null);
  }
  header('history', `8 recipients × ${perRecipient} notifications, ${pages.length} pages of ${limit} (first pages and cursor pages) in turn`);
  const result = await openLoop(ctx, 'history', { kind: 'history', pages, limit });
  describe(result);
  const { errors, of } = errorShare(result, 200);
  const l = result.classes.all?.latencies ?? [];
  verdict('history', 'errors < 1% (not 200, no answer, dropped)', pct(errors, of) < 1, `${fmtPct(pct(errors, of))} (${errors} of ${of})`);
  verdict('history', 'p95 < 150 ms', percentile(l, 95) < 150, ms(percentile(l, 95)));
  verdict('history', 'p99 < 400 ms', percentile(l, 99) < 400, ms(percentile(l, 99)));
}

const VENDOR_OF: Record<string, Vendor> = { PUSH: 'fcm', EMAIL: 'ses', SMS: 'twilio', KAKAO_ALIMTALK: 'kakao' };

async function callbacks(ctx: Context): Promise<void> {
  // Attempts to sign receipts for: 16 four-channel recipients × 4 notifications (inside the SMS
  // and Kakao limits), their attempts read back through GET /notifications/{id}.
  const recipients = await createRecipients(ctx.api, 'callbacks', 16, { push: true, directory: true });
  const perRecipient = Math.max(1, Math.min(4, limits.SMS - 1, limits.KAKAO_ALIMTALK - 1));
  const notifications: string[] = [];
  await each(recipients.length * perRecipient, 16, async (i) => void notifications.push(await sendOne(ctx.api, recipients[i % recipients.length]!)));
  const attempts: { id: string; vendor: Vendor }[] = [];
  await each(notifications.length, 16, async (i) => {
    const detail = await ctx.api.must<{ attempts: { attemptId: string; channel: string }[] }>('GET', `/api/v1/notifications/${notifications[i]}`);
    for (const a of detail.attempts) attempts.push({ id: a.attemptId, vendor: VENDOR_OF[a.channel]! });
  });
  const work: Work = { kind: 'receipt', attempts, secrets: WEBHOOK_SECRETS, tag: `load-${runId}` };
  header('callbacks', `${attempts.length} attempts of ${notifications.length} notifications, receipts signed per vendor`);
  const result = await openLoop(ctx, 'callbacks', work);
  describe(result);
  const valid = result.classes.valid;
  // Requests 0-7 of every 10 are valid (generator.ts); a dropped valid one counts as not accepted.
  const validDue = Math.floor(result.scheduled / 10) * 8 + Math.min(result.scheduled % 10, 8);
  const l = valid?.latencies ?? [];
  const accepted = count(valid, 202);
  verdict('callbacks', 'valid p95 < 50 ms', percentile(l, 95) < 50, ms(percentile(l, 95)));
  verdict('callbacks', 'valid p99 < 150 ms', percentile(l, 99) < 150, ms(percentile(l, 99)));
  verdict('callbacks', '100% of valid accepted (202)', accepted === validDue, `${fmtPct(pct(accepted, validDue))} (${accepted} of ${validDue})`);
  for (const cls of ['replay', 'tampered'] as const) {
    const stats = result.classes[cls];
    const rejected = count(stats, 401);
    const due = stats?.sent ?? 0;
    verdict('callbacks', `> 99% of ${cls === 'replay' ? 'replays' : 'tampered'} rejected with 401`, due > 0 && pct(rejected, due) > 99, `${fmtPct(pct(rejected, due))} (${rejected} of ${due})`);
  }
  if (flags['skip-baseline']) return;

  // Throughput: the hub and the minimal handler, each closed-loop at the same concurrency with
  // the same receipts (open loop at a fixed rate would give both the same throughput).
  const port = await freePort();
  const baselinePrefix = `load-baseline-${runId}:`;
  const baseline = fork(path.join(path.dirname(fileURLToPath(import.meta.url)), 'callback-baseline.ts'), [], {
    execArgv: ['--disable-warning=TimeoutNegativeWarning'],
    env: {
      PATH: process.env.PATH ?? '',
      BASELINE_PORT: String(port),
      BASELINE_SECRETS: JSON.stringify(WEBHOOK_SECRETS),
      BASELINE_REDIS_URL: infra.redisUrl,
      BASELINE_REDIS_PREFIX: baselinePrefix,
      BASELINE_DATABASE_URL: ctx.dbUrl,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      baseline.once('message', () => resolve());
      baseline.once('exit', (code) => reject(new Error(`the callback baseline exited (${code}) before it listened`)));
    });
    const closed = (baseUrl: string, tag: string) =>
      driveMeasured(ctx.generator, { baseUrl, headers: authHeaders, work: { ...work, tag: `${work.tag}-${tag}` }, pace: { type: 'closed', concurrency, seconds: ratioSeconds }, connections: concurrency, timeoutMs: 10_000 });
    out(`\n  throughput, closed-loop at concurrency ${concurrency} for ${ratioSeconds} s each, same receipts:`);
    const hub = await closed(ctx.baseUrl, 'hub');
    const floor = await closed(`http://127.0.0.1:${port}`, 'baseline');
    const rate = (r: DriveResult) => answered(r.classes.valid) / r.elapsedSeconds + answered(r.classes.replay) / r.elapsedSeconds + answered(r.classes.tampered) / r.elapsedSeconds;
    const validRate = (r: DriveResult) => count(r.classes.valid, 202) / r.elapsedSeconds;
    for (const [label, r] of [['hub', hub], ['baseline', floor]] as const) {
      const l = r.classes.valid?.latencies ?? [];
      out(
        `  ${label.padEnd(8)} ${rate(r).toFixed(0)} answers/s (${validRate(r).toFixed(0)} valid accepted/s); valid p50 ${ms(percentile(l, 50))}, p99 ${ms(percentile(l, 99))}; ` +
          `no answer ${Object.values(r.classes).reduce((s, c) => s + c.failures, 0)}; generator CPU ${r.cpuPercent.toFixed(0)}% of one core; machine ${r.machineBusy.toFixed(0)}% busy`,
      );
      if (r.cpuPercent > 70) out(`  WARNING: the generator used ${r.cpuPercent.toFixed(0)}% of a core driving the ${label}: it may be the limit`);
    }
    const ratio = rate(hub) / rate(floor);
    verdict('callbacks', 'hub ÷ minimal handler ≥ 0.70 (issue 14)', ratio >= 0.7, `${ratio.toFixed(2)} (${rate(hub).toFixed(0)}/s ÷ ${rate(floor).toFixed(0)}/s)`);
  } finally {
    if (baseline.exitCode === null) {
      const exited = new Promise((r) => baseline.once('exit', r));
      baseline.kill('SIGTERM');
      await exited;
    }
    await deleteRedisPrefix(infra.redisUrl, baselinePrefix).catch(() => {});
  }
}

const RUNNERS: Record<ScenarioName, (ctx: Context) => Promise<void>> = { single, multi, saturation, history, callbacks };

/** The deliveries a scenario caused are dispatched before the next one starts (bounded: 90 s). */
async function waitUntilQuiet(dbUrl: string): Promise<void> {
  const sql = openPostgres(dbUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const deadline = performance.now() + 90_000;
    for (;;) {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from delivery_attempts
        where status = 'DISPATCHING' or (status = 'PENDING' and (next_attempt_at is null or next_attempt_at <= now()))`;
      if (row!.n === 0) return;
      if (performance.now() > deadline) {
        say(`${row!.n} attempts still undelivered after 90 s; going on`);
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } catch (err) {
    say(`could not check the hub's backlog (${err instanceof Error ? err.message : String(err)}); going on`);
  } finally {
    await sql.end();
  }
}

// ------------------------------------------------------------------ main

let hub: LocalHub | undefined;
// Ctrl-C: the hub this run started (its processes, database and topics) goes too.
process.once('SIGINT', () => {
  say('interrupted; stopping');
  void (hub?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
});

async function main(): Promise<number> {
  const generator = new GeneratorProcess();
  let api: Api | undefined;
  try {
    let baseUrl = flags.url ?? process.env.LOAD_INGEST_URL ?? 'http://127.0.0.1:8080';
    let dbUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/notification_hub';
    if (flags.start) {
      hub = new LocalHub({
        tag: 'load',
        say,
        start: 'parallel',
        env: Object.fromEntries(Object.entries(process.env).filter(([k, v]) => /^(RATE_LIMIT_|WRITE_|DATABASE_POOL_MAX$|DISPATCH_|RELAY_)/.test(k) && v !== undefined)) as Record<string, string>,
      });
      say(`starting the hub: database ${hub.dbName}, topic namespace ${hub.namespace}, mock vendors`);
      await hub.prepare();
      await hub.startServices();
      baseUrl = hub.ingestUrl;
      dbUrl = hub.dbUrl;
    }
    out(`load ${runId}: ${scenarios.join(', ')} at ${multiplier}× the SPEC §6 rates against ${baseUrl}; generator pid ${generator.pid} (its own process)`);
    out(
      `the hub must run with: RATE_LIMIT_PUSH=${limits.PUSH} RATE_LIMIT_EMAIL=${limits.EMAIL} RATE_LIMIT_SMS=${limits.SMS} RATE_LIMIT_KAKAO_ALIMTALK=${limits.KAKAO_ALIMTALK} ` +
        `RATE_LIMIT_WINDOW_MS=${limits.windowMs} (SPEC defaults unless set here too), WEBHOOK_SECRET_FCM/SES/TWILIO/KAKAO as in this environment ` +
        `(default dev-<vendor>-secret, as npm start), VENDOR_MODE=mock; ${token ? 'a Bearer token is sent' : 'INGEST_JWKS_URL unset (or pass --token)'}`,
    );
    out('numbers are indicative: the hub, its infrastructure and the generator share this machine');
    api = new Api(baseUrl);
    const ctx: Context = { api, generator, baseUrl, dbUrl };
    for (const [i, name] of scenarios.entries()) {
      if (i > 0) await waitUntilQuiet(dbUrl);
      await RUNNERS[name](ctx);
    }
  } catch (err) {
    say(`load run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    verdicts.push({ scenario: 'run', passed: false, line: 'FAIL  the run did not complete' });
  } finally {
    await api?.close();
    await generator.close();
    if (hub) await hub.stop();
  }
  const passed = verdicts.filter((v) => v.passed).length;
  const failed = verdicts.length - passed;
  out(`\n${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exit(await main());
