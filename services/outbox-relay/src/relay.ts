import { sql } from 'kysely';
import type postgres from 'postgres';
import type { Logger } from 'pino';
import { DEFAULT_IDEMPOTENCY_TTL_SECONDS } from '@hub/config';
import { exponentialBackoffMs, type BackoffScale } from '@hub/domain';
import type { Db } from '@hub/db';
import type { Producer, Topics } from '@hub/messaging';
import { Counter, Gauge, settlesWithin, type Registry } from '@hub/observability';
import { maintenanceDue } from '@hub/attempts';
import { housekeep } from './usecases/housekeeping.ts';
import { hasDueRows, PublishError, publishBatch, recordPublishFailure } from './usecases/publish-batch.ts';
import { recoverExpiredLeases } from './usecases/recover-leases.ts';
import { redriveDueRetries } from './usecases/redrive-retries.ts';
import { sweepLostDeliveries } from './usecases/sweep-lost-deliveries.ts';

export interface RelayOptions {
  batchSize: number;
  publishers: number;
  pollIntervalMs: number;
  /** After a NOTIFY, how long a publisher waits before it claims (default 0). */
  lingerMs?: number;
  maintenanceIntervalMs: number;
  maintenanceBatchSize: number;
  housekeepingIntervalMs: number;
  retentionMs: number;
  /**
   * The lost-record sweep: how often it runs, and how long a published delivery request may go
   * unclaimed before it is published again (defaults 30 s and 2 min).
   */
  sweepIntervalMs?: number;
  sweepAfterMs?: number;
  /** Idempotency keys older than this are deleted; default IDEMPOTENCY_TTL_SECONDS's default. */
  idempotencyTtlMs?: number;
  backoff: BackoffScale;
  /** How long stop() waits for the batch in flight; default 10 s. */
  stopTimeoutMs?: number;
}

export interface RelayDeps {
  db: Db;
  /** The raw postgres.js client, for LISTEN. */
  sql: postgres.Sql;
  /** Connected idempotent producer. */
  producer: Producer;
  topics: Topics;
  logger: Logger;
  registry: Registry;
  clock?: () => Date;
}

/**
 * The outbox relay: publish loops woken by NOTIFY 'outbox' (with a polling fallback), a
 * maintenance loop that re-drives due retries and recovers expired dispatch leases, and
 * periodic housekeeping. Any number of replicas may run: every claim is SKIP LOCKED.
 */
export class OutboxRelay {
  private readonly deps: RelayDeps & { clock: () => Date };
  private readonly options: RelayOptions;
  private readonly log: Logger;
  private readonly metrics: ReturnType<typeof createRelayMetrics>;
  private running = false;
  private loops: Promise<void>[] = [];
  private listener: { unlisten: () => Promise<void> } | undefined;
  /** Set by a NOTIFY no sleeping publisher took; a publisher that finds it set goes round again. */
  private notified = false;
  /** Sleeping loops: every one wakes on stop(); one publisher per NOTIFY (or full batch). */
  private readonly sleepers = new Set<() => void>();
  /** Publishers waiting out RELAY_LINGER_MS before their claim. */
  private lingering = 0;
  private readonly notifySleepers = new Set<() => void>();

  constructor(deps: RelayDeps, options: RelayOptions) {
    this.deps = { ...deps, clock: deps.clock ?? (() => new Date()) };
    this.options = options;
    this.log = deps.logger.child({ component: 'outbox-relay' });
    this.metrics = createRelayMetrics(deps.registry, deps.db);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.listener = await this.deps.sql.listen('outbox', () => this.wake());
    for (let i = 0; i < this.options.publishers; i++) this.loops.push(this.publishLoop(i === 0));
    this.loops.push(this.every(this.options.maintenanceIntervalMs, 'maintenance', () => this.maintain()));
    this.loops.push(this.every(this.options.sweepIntervalMs ?? 30_000, 'lost-record sweep', () => this.sweep()));
    this.loops.push(this.every(this.options.housekeepingIntervalMs, 'housekeeping', () => this.housekeep()));
    this.log.info({ ...this.options }, 'outbox relay started');
  }

  /** Stops claiming; the batch in flight finishes (published and marked, or rolled back). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const wake of [...this.sleepers]) wake();
    // Bounded: a batch stuck on a connection Postgres dropped must not hold the process
    // forever. Its claim was never committed, so its rows are simply claimed again.
    const finished = await settlesWithin(Promise.all(this.loops), this.options.stopTimeoutMs ?? 10_000);
    if (!finished) this.log.warn('outbox relay stopped with a batch still waiting on Postgres (it will be claimed again)');
    this.loops = [];
    await this.listener?.unlisten().catch(() => {});
    this.listener = undefined;
    this.log.info('outbox relay stopped');
  }

  /** One publish round; returns rows published (exported for benchmarks and tests). */
  async publishOnce(): Promise<number> {
    try {
      const published = await publishBatch(this.deps, this.options.batchSize);
      this.metrics.published.inc(published);
      return published;
    } catch (err) {
      this.metrics.failures.inc();
      if (err instanceof PublishError) {
        const message = err.cause instanceof Error ? err.cause.message : String(err.cause);
        await recordPublishFailure(this.deps.db, err.ids, message).catch((e: unknown) =>
          this.log.error({ err: e }, 'could not record the publish failure'),
        );
      }
      throw err;
    }
  }

  async maintain(): Promise<{ redriven: number; recovered: number }> {
    const limit = this.options.maintenanceBatchSize;
    const due = await maintenanceDue(this.deps.db, this.deps.clock());
    const recovered = due.expiredLeases ? await recoverExpiredLeases({ ...this.deps, backoff: this.options.backoff }, limit) : 0;
    const redriven = due.dueRetries ? await redriveDueRetries(this.deps, limit) : 0;
    this.metrics.redriven.inc(redriven);
    this.metrics.recovered.inc(recovered);
    if (recovered > 0) this.log.warn({ recovered }, 'recovered attempts whose dispatch lease expired');
    return { redriven, recovered };
  }

  /** Publishes again the delivery requests published but never claimed (their record was lost). */
  async sweep(): Promise<number> {
    const swept = await sweepLostDeliveries(this.deps, { olderThanMs: this.options.sweepAfterMs ?? 120_000, limit: this.options.maintenanceBatchSize });
    this.metrics.swept.inc(swept);
    if (swept > 0) this.log.warn({ swept }, 'published again delivery requests that were never claimed (lost Kafka records?)');
    return swept;
  }

  async housekeep(): Promise<{ outbox: number; idempotencyKeys: number }> {
    const deleted = await housekeep(this.deps, {
      retentionMs: this.options.retentionMs,
      idempotencyTtlMs: this.options.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_SECONDS * 1_000,
    });
    this.metrics.deleted.inc(deleted.outbox);
    if (deleted.outbox + deleted.idempotencyKeys > 0) this.log.info(deleted, 'housekeeping deleted old rows');
    return deleted;
  }

  /**
   * One publisher per NOTIFY: one claim takes every due row, and waking them all sent the others
   * round an empty claim transaction for each commit that wrote a delivery. A publisher that is
   * busy goes round again instead when none sleeps.
   */
  private wake(): void {
    // A publisher about to claim takes this commit's rows too: waking another would split them.
    if (this.lingering > 0) return;
    const sleeper = this.notifySleepers.values().next().value;
    if (sleeper) sleeper();
    else this.notified = true;
  }

  /**
   * Only the first publisher polls: with nothing to publish, every poll is an empty claim
   * transaction, and one per interval finds what NOTIFY missed as well as several do. The others
   * wake on NOTIFY, on a full batch (a backlog) and on stop().
   */
  private async publishLoop(polls: boolean): Promise<void> {
    let failures = 0;
    while (this.running) {
      this.notified = false;
      try {
        const published = await this.publishOnce();
        failures = 0;
        // A full batch means more is probably waiting: go again at once, and bring another
        // publisher in to drain the backlog alongside.
        if (published === this.options.batchSize) {
          this.notifySleepers.values().next().value?.();
          continue;
        }
      } catch (err) {
        failures++;
        this.log.error({ err, failures }, 'outbox publish failed; rows stay for the next round');
        // Not cut short by NOTIFY: a failing Kafka would otherwise be retried on every commit.
        await this.sleep(exponentialBackoffMs(failures, { baseMs: 100, maxMs: 5_000 }), false);
        continue;
      }
      // Until NOTIFY (or a full batch elsewhere, or stop()). A round the poll timer wakes instead
      // finds nothing most of the time, so one statement asks before a claim transaction (four
      // round trips) is paid for.
      let notified = this.notified;
      while (this.running && !notified) {
        if (await this.sleep(polls ? this.options.pollIntervalMs : Infinity)) {
          notified = true;
          break;
        }
        if (await this.hasDue()) break;
        notified = this.notified;
      }
      // Woken by a commit: the commits of the next moment join its claim.
      if (notified && this.running && this.options.lingerMs) {
        this.lingering++;
        await this.sleep(this.options.lingerMs, false).finally(() => this.lingering--);
      }
    }
  }

  /** True when the probe fails too: the claim then runs and reports the error with its backoff. */
  private hasDue(): Promise<boolean> {
    return hasDueRows(this.deps.db).catch(() => true);
  }

  private async every(intervalMs: number, name: string, work: () => Promise<unknown>): Promise<void> {
    while (this.running) {
      await this.sleep(intervalMs, false);
      if (!this.running) return;
      try {
        await work();
      } catch (err) {
        this.log.error({ err, task: name }, 'relay task failed; will run again');
      }
    }
  }

  /**
   * Sleeps until the timeout (none when Infinity), stop(), or (for publishers) a NOTIFY; true
   * when woken before the timeout.
   */
  private sleep(ms: number, wakeOnNotify = true): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (woken = true) => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        this.notifySleepers.delete(done);
        resolve(woken);
      };
      const timer = Number.isFinite(ms) ? setTimeout(() => done(false), ms) : undefined;
      this.sleepers.add(done);
      if (wakeOnNotify) this.notifySleepers.add(done);
    });
  }
}

function createRelayMetrics(registry: Registry, db: Db) {
  new Gauge({
    name: 'outbox_lag_seconds',
    help: 'Age of the oldest due, unpublished outbox row (0 when the outbox is drained)',
    registers: [registry],
    async collect() {
      try {
        const { rows } = await sql<{ lag: number | null }>`
          select extract(epoch from now() - min(available_at))::float8 as lag
          from outbox where published_at is null and available_at <= now()`.execute(db);
        this.set(Math.max(0, rows[0]?.lag ?? 0));
      } catch {
        // Postgres unreachable: /readyz says so; keep the last value rather than fail the scrape.
      }
    },
  });
  return {
    published: new Counter({ name: 'outbox_published_total', help: 'Outbox rows published to Kafka', registers: [registry] }),
    failures: new Counter({
      name: 'outbox_publish_failures_total',
      help: 'Publish rounds that failed (rows left for the next round)',
      registers: [registry],
    }),
    redriven: new Counter({
      name: 'delivery_retries_redriven_total',
      help: 'Attempts whose retry time came and got a new delivery.requested',
      registers: [registry],
    }),
    swept: new Counter({
      name: 'delivery_requests_swept_total',
      help: 'PENDING attempts whose published delivery request was never claimed, published again (a lost Kafka record)',
      registers: [registry],
    }),
    recovered: new Counter({
      name: 'delivery_leases_recovered_total',
      help: 'DISPATCHING attempts recovered after their lease expired (their dispatcher died)',
      registers: [registry],
    }),
    deleted: new Counter({
      name: 'outbox_deleted_total',
      help: 'Published outbox rows deleted after the retention period',
      registers: [registry],
    }),
  };
}
