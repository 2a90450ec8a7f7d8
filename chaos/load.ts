// The chaos suite's load: a careful API client (retries the same request with the same
// Idempotency-Key until a deadline, honouring Retry-After) and an open-loop generator that
// offers requests at a constant rate whatever the hub answers.
import { Agent, request as httpRequest } from 'node:http';
import { now } from './processes.ts';

export interface IngestTarget {
  slot: string;
  /** http://127.0.0.1:<port> */
  base: string;
}

/** One HTTP request the client made (a logical request is retried as several of these). */
export interface RequestTry {
  key: string;
  slot: string;
  startedAt: number;
  endedAt: number;
  status?: number;
  /** problem+json `code` of a non-2xx answer. */
  code?: string;
  /** Node's error code of a request that got no answer (ECONNRESET, ECONNREFUSED, TIMEOUT…). */
  error?: string;
  /** Sent on a kept-alive connection (not a new one). */
  reused?: boolean;
  /** For a new connection: when its TCP connect completed (requests may wait for a socket in the agent first). */
  connectedAt?: number;
}

export interface RequestOutcome {
  key: string;
  firstAt: number;
  doneAt: number;
  tries: number;
  /** Every notificationId the hub gave for this key (202, or 409 DUPLICATE_REQUEST naming one). */
  ids: Set<string>;
  /** Set when the request failed after its retries (or with a non-retriable answer). */
  failure?: string;
  /** Deliveries the 202 listed (dispatchedChannels), when one was received. */
  deliveries?: number;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown> | undefined;
}

const RETRIABLE_ERRORS_NOTE = 'network error, 5xx, 429 and 409 REQUEST_IN_PROGRESS are retried';

/** A JSON client for ingest-api that retries like a careful caller. */
export class CarefulClient {
  readonly tries: RequestTry[] = [];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private next = 0;

  private readonly targets: IngestTarget[];
  private readonly options: { deadlineMs: number; requestTimeoutMs: number };

  constructor(targets: IngestTarget[], options: { deadlineMs: number; requestTimeoutMs: number }) {
    this.targets = targets;
    this.options = options;
  }

  private pick(): IngestTarget {
    const target = this.targets[this.next % this.targets.length]!;
    this.next++;
    return target;
  }

  private once(target: IngestTarget, method: string, path: string, body: unknown, headers: Record<string, string>, seen: { reused?: boolean; connectedAt?: number }): Promise<Answer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const url = new URL(path, target.base);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method,
          agent: this.agent,
          headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
          timeout: this.options.requestTimeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            let parsed: Record<string, unknown> | undefined;
            try {
              parsed = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : undefined;
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
          });
        },
      );
      req.on('socket', (socket) => {
        seen.reused = req.reusedSocket;
        if (!req.reusedSocket) socket.once('connect', () => (seen.connectedAt = now()));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'TIMEOUT' })));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /**
   * Sends one logical request until it gets a final answer or the deadline passes. `final`
   * decides what a 2xx/4xx answer means; everything retriable is retried with backoff, or after
   * Retry-After when the hub gives one.
   */
  async call(
    key: string,
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ answer?: Answer; tries: number; firstAt: number; failure?: string }> {
    const firstAt = now();
    let failures = 0;
    let last = '';
    for (;;) {
      const target = this.pick();
      const startedAt = now();
      let retryAfterMs: number | undefined;
      const seen: { reused?: boolean; connectedAt?: number } = {};
      try {
        const answer = await this.once(target, method, path, body, headers, seen);
        const code = typeof answer.body?.code === 'string' ? answer.body.code : undefined;
        this.tries.push({ key, slot: target.slot, startedAt, endedAt: now(), status: answer.status, ...(code ? { code } : {}), reused: seen.reused ?? false, ...(seen.connectedAt ? { connectedAt: seen.connectedAt } : {}) });
        const retriable = answer.status >= 500 || answer.status === 429 || (answer.status === 409 && code === 'REQUEST_IN_PROGRESS');
        if (!retriable) return { answer, tries: failures + 1, firstAt };
        last = `${answer.status}${code ? ` ${code}` : ''}`;
        const header = answer.headers['retry-after'];
        const seconds = Number(Array.isArray(header) ? header[0] : header);
        if (Number.isFinite(seconds) && seconds > 0) retryAfterMs = Math.min(seconds, 15) * 1_000;
      } catch (err) {
        const code = (err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err));
        this.tries.push({ key, slot: target.slot, startedAt, endedAt: now(), error: code, reused: seen.reused ?? false, ...(seen.connectedAt ? { connectedAt: seen.connectedAt } : {}) });
        last = code;
      }
      failures++;
      const backoff = Math.min(100 * 2 ** (failures - 1), 2_000) * (0.5 + Math.random());
      const delay = retryAfterMs !== undefined ? retryAfterMs + Math.random() * 200 : backoff;
      if (now() + delay > firstAt + this.options.deadlineMs) {
        return { tries: failures, firstAt, failure: `gave up after ${failures} tries over ${((now() - firstAt) / 1000).toFixed(1)} s (${RETRIABLE_ERRORS_NOTE}); last: ${last}` };
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** POST /notifications with its own Idempotency-Key, retried with the same key. */
  async sendNotification(key: string, body: Record<string, unknown>): Promise<RequestOutcome> {
    const result = await this.call(key, 'POST', '/api/v1/notifications', body, { 'idempotency-key': key });
    const outcome: RequestOutcome = { key, firstAt: result.firstAt, doneAt: now(), tries: result.tries, ids: new Set() };
    if (result.failure) {
      outcome.failure = result.failure;
      return outcome;
    }
    const answer = result.answer!;
    const id = typeof answer.body?.notificationId === 'string' ? answer.body.notificationId : undefined;
    if ((answer.status === 202 || answer.status === 200) && id) {
      outcome.ids.add(id);
      if (Array.isArray(answer.body?.dispatchedChannels)) outcome.deliveries = answer.body.dispatchedChannels.length;
    } else if (answer.status === 409 && answer.body?.code === 'DUPLICATE_REQUEST' && id) {
      outcome.ids.add(id);
    } else {
      outcome.failure = `answered ${answer.status} ${String(answer.body?.code ?? '')}: ${String(answer.body?.message ?? '')}`.trim();
    }
    return outcome;
  }

  /** A setup call that must succeed (2xx); throws otherwise. */
  async must(method: string, path: string, body: unknown): Promise<Record<string, unknown> | undefined> {
    const result = await this.call(`setup ${method} ${path}`, method, path, body);
    if (result.failure || !result.answer || result.answer.status >= 300) {
      throw new Error(`setup ${method} ${path} failed: ${result.failure ?? `${result.answer?.status} ${JSON.stringify(result.answer?.body)}`}`);
    }
    return result.answer.body;
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface OfferStats {
  offered: number;
  startedAt: number;
  /** When the last request was offered. */
  offeredUntil: number;
  /** When the last request settled. */
  settledAt: number;
  /** Largest delay between a request's due time and when it was offered. */
  maxLagMs: number;
  /** Requests offered more than 100 ms late. */
  lateOffers: number;
  maxOutstanding: number;
  cpu: NodeJS.CpuUsage;
  warnings: string[];
}

/**
 * Open loop: request i is offered at start + i/rate whatever happened to the earlier ones (a
 * closed loop would slow down exactly when the hub is in trouble and hide it). Warns when the
 * generator itself falls behind the offered rate.
 */
export async function offerOpenLoop(options: {
  count: number;
  ratePerSecond: number;
  send: (index: number) => Promise<unknown>;
  say: (line: string) => void;
  onStart?: (startedAt: number) => void;
  /** Stops offering early once this returns true. */
  until?: () => boolean;
}): Promise<OfferStats> {
  const cpuBefore = process.cpuUsage();
  const startedAt = now();
  options.onStart?.(startedAt);
  const interval = 1_000 / options.ratePerSecond;
  const pending = new Set<Promise<unknown>>();
  const stats: OfferStats = {
    offered: 0,
    startedAt,
    offeredUntil: startedAt,
    settledAt: startedAt,
    maxLagMs: 0,
    lateOffers: 0,
    maxOutstanding: 0,
    cpu: { user: 0, system: 0 },
    warnings: [],
  };
  let lastWarning = 0;
  while (stats.offered < options.count && !options.until?.()) {
    const t = now();
    let lagNow = 0;
    while (stats.offered < options.count && startedAt + stats.offered * interval <= t) {
      // How late this request is offered: the generator's own delay, not the hub's.
      const lag = t - (startedAt + stats.offered * interval);
      lagNow = Math.max(lagNow, lag);
      stats.maxLagMs = Math.max(stats.maxLagMs, lag);
      if (lag > 100) stats.lateOffers++;
      const promise = options.send(stats.offered).finally(() => pending.delete(promise));
      pending.add(promise);
      stats.offered++;
    }
    stats.maxOutstanding = Math.max(stats.maxOutstanding, pending.size);
    if (lagNow > 250 && t - lastWarning > 5_000) {
      lastWarning = t;
      const line = `WARNING: the load generator is ${lagNow.toFixed(0)} ms behind the offered rate at request ${stats.offered} (event loop or CPU starved)`;
      stats.warnings.push(line);
      options.say(line);
    }
    const due = startedAt + stats.offered * interval;
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(20, due - now()))));
  }
  stats.offeredUntil = now();
  await Promise.all(pending);
  stats.settledAt = now();
  stats.cpu = process.cpuUsage(cpuBefore);
  return stats;
}
