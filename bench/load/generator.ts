// The load generator: a process of its own (forked by bench/load/run.ts and bench/cost/run.ts),
// so its CPU is measured apart from the hub's, and it reports that CPU with every result. It
// sends through an undici Pool (keep-alive, no WHATWG-stream overhead) and builds each request
// when it is due (receipts are signed with the current time).
import { createHmac, randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { percentile, type ClassStats, type DriveResult, type DriveSpec, type GeneratorMessage, type GeneratorReply, type Work } from './plan.ts';

interface Built {
  cls: string;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const REPLAY_AGE_MS = 10 * 60_000;

function build(work: Work, i: number): Built {
  switch (work.kind) {
    case 'send':
      return {
        cls: 'all',
        method: 'POST',
        path: '/api/v1/notifications',
        headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ recipientId: work.recipients[i % work.recipients.length], kind: 'SECURITY', title: 'Sign-in from a new device', body: `Was this you? (${i})` }),
      };
    case 'history': {
      const page = work.pages[i % work.pages.length]!;
      const query = new URLSearchParams({ recipientId: page.recipientId, limit: String(work.limit) });
      if (page.cursor) query.set('cursor', page.cursor);
      return { cls: 'all', method: 'GET', path: `/api/v1/notifications/me?${query}`, headers: {} };
    }
    case 'receipt': {
      const attempt = work.attempts[i % work.attempts.length]!;
      const slot = i % 10;
      const cls = slot < 8 ? 'valid' : slot === 8 ? 'replay' : 'tampered';
      const body = JSON.stringify({ success: true, vendorMessageId: `${work.tag}-${i}` });
      const timestamp = String(Date.now() - (cls === 'replay' ? REPLAY_AGE_MS : 0));
      const secret = cls === 'tampered' ? `${work.secrets[attempt.vendor]}-wrong` : work.secrets[attempt.vendor];
      const signature = createHmac('sha256', secret).update(`${timestamp}.${attempt.id}.${body}`).digest('hex');
      return {
        cls,
        method: 'POST',
        path: `/api/v1/deliveries/${attempt.id}/ack`,
        headers: {
          'content-type': 'application/json',
          'x-notification-hub-vendor': attempt.vendor,
          'x-notification-hub-timestamp': timestamp,
          'x-notification-hub-signature': `v1=${signature}`,
        },
        body,
      };
    }
  }
}

const emptyStats = (): ClassStats => ({ sent: 0, statuses: {}, latencies: [], rateLimitCoded: 0, retryAfter: 0, failures: 0, failureSamples: [] });

export async function drive(spec: DriveSpec): Promise<DriveResult> {
  const pool = new Pool(spec.baseUrl, {
    connections: spec.pace.type === 'closed' ? spec.pace.concurrency : spec.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: spec.timeoutMs,
    bodyTimeout: spec.timeoutMs,
  });
  const classes: Record<string, ClassStats> = {};
  const statsOf = (cls: string) => (classes[cls] ??= emptyStats());
  let outstanding = 0;
  let peakOutstanding = 0;
  let idle: (() => void) | undefined;

  const send = async (i: number): Promise<void> => {
    const request = build(spec.work, i);
    const stats = statsOf(request.cls);
    stats.sent++;
    outstanding++;
    if (outstanding > peakOutstanding) peakOutstanding = outstanding;
    const started = performance.now();
    try {
      const response = await pool.request({
        method: request.method,
        path: request.path,
        headers: { ...spec.headers, ...request.headers },
        body: request.body,
      });
      if (response.statusCode === 429) {
        const text = await response.body.text();
        if (text.includes('"code":"RATE_LIMIT_EXCEEDED"')) stats.rateLimitCoded++;
        if (response.headers['retry-after'] !== undefined) stats.retryAfter++;
      } else {
        await response.body.dump();
      }
      stats.latencies.push(performance.now() - started);
      const key = String(response.statusCode);
      stats.statuses[key] = (stats.statuses[key] ?? 0) + 1;
    } catch (err) {
      stats.failures++;
      if (stats.failureSamples.length < 5) stats.failureSamples.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    } finally {
      outstanding--;
      if (outstanding === 0) idle?.();
    }
  };

  const lags: number[] = [];
  let scheduled = 0;
  let droppedLate = 0;
  let droppedOutstanding = 0;
  const cpuBefore = process.cpuUsage();
  const began = performance.now();
  if (spec.pace.type === 'open') {
    const { rate, seconds, maxLagMs, maxOutstanding } = spec.pace;
    const total = Math.round(rate * seconds);
    const interval = 1_000 / rate;
    const t0 = performance.now() + 10;
    let next = 0;
    while (next < total) {
      for (let now = performance.now(); next < total && t0 + next * interval <= now; now = performance.now()) {
        const lag = now - (t0 + next * interval);
        if (lag > maxLagMs) droppedLate++;
        else if (outstanding >= maxOutstanding) droppedOutstanding++;
        else {
          lags.push(lag);
          void send(next);
        }
        next++;
      }
      if (next < total) await new Promise((r) => setTimeout(r, Math.max(0, t0 + next * interval - performance.now())));
    }
    scheduled = total;
  } else {
    const { concurrency, seconds } = spec.pace;
    const end = performance.now() + seconds * 1_000;
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) await send(next++);
      }),
    );
    scheduled = next;
  }
  const offerSeconds = (performance.now() - began) / 1_000;
  if (outstanding > 0) await new Promise<void>((resolve) => (idle = resolve));
  const elapsedSeconds = (performance.now() - began) / 1_000;
  const cpu = process.cpuUsage(cpuBefore);
  await pool.close();
  lags.sort((a, b) => a - b);
  for (const stats of Object.values(classes)) stats.latencies.sort((a, b) => a - b);
  return {
    classes,
    scheduled,
    droppedLate,
    droppedOutstanding,
    offerSeconds,
    elapsedSeconds,
    cpuPercent: (100 * (cpu.user + cpu.system)) / 1_000 / (elapsedSeconds * 1_000),
    lagP99Ms: percentile(lags, 99),
    lagMaxMs: lags.at(-1) ?? NaN,
    peakOutstanding,
  };
}

// As a forked process: one drive per message, until told to exit or the parent goes away.
if (process.send) {
  const reply = (message: GeneratorReply) => process.send!(message);
  process.on('message', (message: GeneratorMessage) => {
    if (message.type === 'exit') process.exit(0);
    drive(message.spec).then(
      (result) => reply({ type: 'result', result }),
      (err: unknown) => reply({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
