import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import pRetry from 'p-retry';
import { exponentialBackoffMs } from '@hub/domain';
import type { Producer } from './producer.ts';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { Counter, Histogram, settlesWithin, type Registry } from '@hub/observability';

export interface ConsumedMessage<T> {
  value: T;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** The record's headers as text (the first value of a repeated one), e.g. W3C `traceparent`. */
  headers: Record<string, string>;
}

export interface ConsumerRunnerOptions<T> {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  /** Every message is validated; one that fails goes to the DLQ topic, never skipped. */
  schema: z.ZodType<T>;
  /** Resolves when the message is fully handled (its effects committed in Postgres). */
  handler: (message: ConsumedMessage<T>) => Promise<void>;
  /** Producer for poison messages (shared with the service; must be connected). */
  dlqProducer: Producer;
  dlqTopicOf: (topic: string) => string;
  /** Messages handled at once by this consumer, across all its partitions. */
  concurrency: number;
  logger: Logger;
  registry: Registry;
  /**
   * Delay before handling a failed message again (infrastructure errors are retried in place),
   * called with 0 after the first failure; default 100 ms doubling up to 5 s.
   */
  retryDelayMs?: (failures: number) => number;
  /** How long finished offsets wait to be committed together (default 1 s). */
  commitIntervalMs?: number;
  /**
   * After a fetch that brought messages, how long the next fetch waits (default 0): what arrives
   * meanwhile comes in one fetch, and its handlers share claims and outcome statements. Under a
   * steady trickle each record otherwise costs its own fetch and its own Postgres round trips.
   * An idle consumer's long poll is unaffected.
   */
  fetchLingerMs?: number;
  /**
   * How long a fetch waits at the broker when nothing arrives (default 3 s, at most half the 6 s
   * session): see start().
   */
  fetchMaxWaitMs?: number;
  /**
   * How long stop() waits for running handlers before it commits and leaves (default 10 s). A
   * service gives it most of its SHUTDOWN_TIMEOUT_MS: a handler cut off mid-work is redelivered.
   */
  drainTimeoutMs?: number;
}

/**
 * Runs a consumer group member with at-least-once semantics (ADR 0004): a partition's offset is
 * committed only up to the last message before which every handler finished, so a crash
 * redelivers anything unfinished (handlers are idempotent). Fetching does not wait for
 * handlers: the next batch of a partition is fetched as soon as every message of the previous
 * one holds a handler slot, and finished offsets are committed in the background every
 * `commitIntervalMs`. A handler error is retried in place with backoff (the commit never
 * passes a failed message); a message that cannot be parsed goes to `<topic>.dlq`.
 */
export class ConsumerRunner<T> {
  private consumer: Consumer | undefined;
  private readonly log: Logger;
  private readonly slots: Semaphore;
  private readonly messages: Counter;
  private readonly duration: Histogram;
  private crashed: Error | undefined;
  private readonly options: ConsumerRunnerOptions<T>;
  /** Progress of the partitions this member holds in the current group generation. */
  private progress = new Map<string, PartitionProgress>();
  private readonly inFlight = new Set<Promise<void>>();
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> | undefined;
  /** Set by stop(): no message starts, retries give up, and fetched batches wait for `held`. */
  private stopping = false;
  private releaseHeld: () => void = () => {};
  private held: Promise<void> = Promise.resolve();

  constructor(options: ConsumerRunnerOptions<T>) {
    this.options = options;
    this.log = options.logger.child({ component: 'consumer', groupId: options.groupId });
    this.slots = new Semaphore(options.concurrency);
    this.messages =
      (options.registry.getSingleMetric('consumer_messages_total') as Counter | undefined) ??
      new Counter({
        name: 'consumer_messages_total',
        help: 'Consumed messages by topic and outcome (handled, poison, retried)',
        labelNames: ['topic', 'outcome'],
        registers: [options.registry],
      });
    this.duration =
      (options.registry.getSingleMetric('consumer_handle_duration_seconds') as Histogram | undefined) ??
      new Histogram({
        name: 'consumer_handle_duration_seconds',
        help: 'Time to handle one message, retries included',
        labelNames: ['topic'],
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
        registers: [options.registry],
      });
  }

  async start(): Promise<void> {
    const consumer = this.options.kafka.consumer({
      groupId: this.options.groupId,
      // A member that died (SIGKILL, or a consumer that crashed while the broker was down) holds
      // its partitions until its session times out: the broker's minimum, 6 s, not kafkajs's
      // 30 s, so its messages reach a live member soon (with 10 s the chaos suite measured 10.5 s
      // from a broker restart to consuming again). Heartbeats go every second while batches flow.
      sessionTimeout: 6_000,
      heartbeatInterval: 1_000,
      // A long poll: the broker answers as soon as a record arrives, so this bounds only how
      // often an idle consumer asks, not how soon it sees a record. Was 100 ms (ten fetches a
      // second per lane, most of an idle hub's CPU), then 1 s (still 0.8 % of a core per idle
      // dispatcher, and as much again in the broker). kafkajs heartbeats after each fetch, so an
      // idle member heartbeats every 3 s, half the session; a rebalance reaches it within 3 s
      // (the chaos suite's broker restart: consuming again after 1.5–6.9 s, 1.6–2.0 s with 1 s).
      maxWaitTimeInMs: this.options.fetchMaxWaitMs ?? 3_000,
      allowAutoTopicCreation: false,
    });
    consumer.on(consumer.events.CRASH, (event) => {
      this.crashed = event.payload.error;
      this.log.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
      // kafkajs gives up for good on some errors (no group coordinator right after a broker
      // restart): the process would stay up consuming nothing. Start a new consumer instead.
      if (!event.payload.restart && !this.stopping) void this.restartAfterCrash(consumer);
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.crashed = undefined;
      // A new generation: partitions may have moved, and the new owner starts at the committed
      // offset. Handlers still running for the old one finish, but their progress is no
      // longer committed from here (the owner redelivers those messages; handlers are idempotent).
      for (const progress of this.progress.values()) progress.retired = true;
      this.progress = new Map();
    });
    this.stopping = false;
    this.held = new Promise((resolve) => (this.releaseHeld = resolve));
    try {
      await consumer.connect();
      // A brand-new group starts at the beginning: messages written before it existed are not lost.
      await consumer.subscribe({ topics: this.options.topics, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 16,
        eachBatch: (payload) => this.processBatch(payload),
      });
    } catch (err) {
      await consumer.disconnect().catch(() => {});
      throw err;
    }
    this.consumer = consumer;
    this.log.info({ topics: this.options.topics, concurrency: this.options.concurrency }, 'consumer started');
  }

  /** Stops starting messages, lets in-flight handlers finish, commits their offsets and leaves the group. */
  async stop(): Promise<void> {
    // First: a restart after a crash, between two consumers, must not start another.
    this.stopping = true;
    const consumer = this.consumer;
    if (!consumer) return;
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    // Both bounded: a handler stuck on a dead connection, or a commit that kafkajs retries
    // through a rebalance, must not hold shutdown (and the group's rebalance) for long. What is
    // not committed is redelivered to the next owner.
    if (!(await settlesWithin(Promise.allSettled([...this.inFlight]), this.options.drainTimeoutMs ?? 10_000))) {
      this.log.warn('stopping with handlers still running');
    }
    if (!(await settlesWithin(this.flushCommits(), 5_000))) this.log.warn('stopping before the last offset commit finished');
    this.consumer = undefined;
    this.releaseHeld();
    await consumer.disconnect();
    this.log.info('consumer stopped');
  }

  /** Replaces a consumer kafkajs will not restart, with backoff (250 ms doubling to 10 s), until one runs or stop(). */
  private async restartAfterCrash(dead: Consumer): Promise<void> {
    if (this.consumer === dead) this.consumer = undefined;
    await dead.disconnect().catch(() => {});
    for (let failures = 0; !this.stopping; failures++) {
      await sleep(exponentialBackoffMs(failures, { baseMs: 250, maxMs: 10_000 }));
      if (this.stopping) return;
      try {
        await this.start();
        this.log.warn({ failures }, 'consumer restarted after a crash kafkajs does not recover from');
        return;
      } catch (err) {
        this.log.error({ err, failures: failures + 1 }, 'restarting the consumer failed, will retry');
      }
    }
  }

  /** For readiness: started and not crashed. */
  healthy(): boolean {
    return this.consumer !== undefined && this.crashed === undefined;
  }

  private async processBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    if (this.stopping) return this.held;
    const key = `${batch.topic}\u0000${batch.partition}`;
    let progress = this.progress.get(key);
    if (!progress) this.progress.set(key, (progress = new PartitionProgress(batch.topic, batch.partition)));
    const owner = progress;
    const alive = () => !this.stopping && !owner.retired && isRunning() && !isStale();
    for (const message of batch.messages) {
      const release = await this.slots.acquire();
      if (!alive()) {
        // Not resolved: the message is fetched again, by this member or the partition's next owner.
        release();
        break;
      }
      const entry = owner.track(BigInt(message.offset));
      // Fetching goes on from the next offset; the commit still waits for this handler.
      resolveOffset(message.offset);
      const task = this.processMessage(batch.topic, batch.partition, message, alive, heartbeat)
        .then((handled) => {
          if (handled && owner.finish(entry)) this.scheduleCommit();
        })
        .catch((err: unknown) => this.log.error({ err, topic: batch.topic, partition: batch.partition }, 'message handling failed unexpectedly'))
        .finally(() => {
          release();
          this.inFlight.delete(task);
        });
      this.inFlight.add(task);
    }
    if (this.stopping) return this.held;
    const linger = this.options.fetchLingerMs ?? 0;
    if (linger > 0 && batch.messages.length > 0 && alive()) await sleep(linger);
  }

  private scheduleCommit(): void {
    if (this.commitTimer || this.stopping) return;
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      this.flushCommits().catch(() => {});
    }, this.options.commitIntervalMs ?? 1_000);
  }

  /** Commits every partition whose finished prefix moved; waits for a commit already in flight first. */
  private async flushCommits(): Promise<void> {
    while (this.committing) await this.committing.catch(() => {});
    const consumer = this.consumer;
    const due = [...this.progress.values()].filter((p) => p.committable > p.committed);
    if (!consumer || due.length === 0) return;
    const offsets = due.map((p) => ({ progress: p, offset: p.committable }));
    this.committing = consumer
      .commitOffsets(offsets.map(({ progress, offset }) => ({ topic: progress.topic, partition: progress.partition, offset: offset.toString() })))
      .then(() => {
        for (const { progress, offset } of offsets) if (offset > progress.committed) progress.committed = offset;
      })
      .catch((err: unknown) => {
        // A rebalance or broker hiccup: the offsets are committed by a later flush, or the
        // partition's next owner redelivers those messages.
        this.log.warn({ err }, 'offset commit failed; will commit again');
        if (!this.stopping) this.scheduleCommit();
      })
      .finally(() => {
        this.committing = undefined;
      });
    await this.committing;
  }

  /** Returns true once the message is handled or parked on the DLQ; false if we were stopped. */
  private async processMessage(
    topic: string,
    partition: number,
    message: KafkaMessage,
    alive: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<boolean> {
    const context = { topic, partition, offset: message.offset };
    const parsed = parseMessage(message.value, this.options.schema);
    if (!parsed.ok) {
      return this.retryUntilDone(context, alive, heartbeat, async () => {
        await this.sendToDlq(topic, partition, message, parsed.error);
        this.messages.inc({ topic, outcome: 'poison' });
        this.log.warn({ ...context, error: parsed.error }, 'poison message sent to DLQ');
      });
    }
    const headers = headersAsText(message.headers);
    const end = this.duration.startTimer({ topic });
    const handled = await this.retryUntilDone(context, alive, heartbeat, () =>
      this.options.handler({
        value: parsed.value,
        topic,
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? null,
        headers,
      }),
    );
    end();
    if (handled) this.messages.inc({ topic, outcome: 'handled' });
    return handled;
  }

  /** Retries `work` until it succeeds (true) or the partition is no longer ours (false). */
  private async retryUntilDone(
    context: Record<string, unknown>,
    alive: () => boolean,
    heartbeat: () => Promise<void>,
    work: () => Promise<void>,
  ): Promise<boolean> {
    const delay = this.options.retryDelayMs ?? defaultRetryDelayMs;
    try {
      await pRetry(
        async () => {
          try {
            await work();
          } catch (err) {
            throw new AttemptFailed(err);
          }
        },
        {
          retries: Infinity,
          // The wait is ours, in onFailedAttempt: skipped once the partition is gone, and followed
          // by a heartbeat so a long backoff does not cost this member its partitions.
          minTimeout: 0,
          onFailedAttempt: async ({ error, attemptNumber }) => {
            this.messages.inc({ topic: String(context.topic), outcome: 'retried' });
            this.log.error({ ...context, err: error.cause, failures: attemptNumber }, 'message handler failed, will retry');
            if (!alive()) return;
            await sleep(delay(attemptNumber - 1));
            await heartbeat().catch(() => {});
          },
          shouldRetry: () => alive(),
        },
      );
      return true;
    } catch (err) {
      // The last failure, not retried because we stopped or lost the partition: not committed,
      // so this member or the partition's next owner handles the message again.
      if (err instanceof AttemptFailed) return false;
      throw err;
    }
  }

  private async sendToDlq(topic: string, partition: number, message: KafkaMessage, error: string): Promise<void> {
    const headers: IHeaders = {
      ...message.headers,
      'x-dlq-error': error.slice(0, 1_000),
      'x-dlq-source-topic': topic,
      'x-dlq-source-partition': String(partition),
      'x-dlq-source-offset': message.offset,
      'x-dlq-failed-at': new Date().toISOString(),
    };
    await this.options.dlqProducer.send({
      topic: this.options.dlqTopicOf(topic),
      messages: [{ key: message.key, value: message.value, headers }],
    });
  }
}

function parseMessage<T>(
  raw: Buffer | null,
  schema: z.ZodType<T>,
): { ok: true; value: T } | { ok: false; error: string } {
  if (raw === null) return { ok: false, error: 'empty message value' };
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    return { ok: false, error: 'message value is not JSON' };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    error: `schema: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
  };
}

/** kafkajs hands header values over as Buffers (several for a repeated name); handlers want text. */
function headersAsText(headers: IHeaders | undefined): Record<string, string> {
  const text: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) text[name] = first.toString();
  }
  return text;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const defaultRetryDelayMs = (failures: number) => exponentialBackoffMs(failures, { baseMs: 100, maxMs: 5_000 });

/**
 * Whatever one attempt threw, wrapped: p-retry gives up at once on a TypeError (a bug, to it), a
 * thrown non-Error or its own AbortError, but a message must be retried in place whatever failed,
 * since the commit never passes it.
 */
class AttemptFailed extends Error {
  constructor(cause: unknown) {
    super('message handling attempt failed', { cause });
  }
}

/**
 * The offsets of one partition started in one group generation, in order. `committable` is the
 * offset after the longest finished prefix: what may be committed.
 */
class PartitionProgress {
  readonly topic: string;
  readonly partition: number;
  /** Set when the group generation changes: its progress is no longer committed. */
  retired = false;
  committable = -1n;
  committed = -1n;
  private readonly entries: { offset: bigint; done: boolean }[] = [];
  private head = 0;

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }

  track(offset: bigint): { offset: bigint; done: boolean } {
    const entry = { offset, done: false };
    this.entries.push(entry);
    return entry;
  }

  /** Marks the entry finished; true when the committable offset moved. */
  finish(entry: { offset: bigint; done: boolean }): boolean {
    entry.done = true;
    const before = this.committable;
    while (this.head < this.entries.length && this.entries[this.head]!.done) {
      this.committable = this.entries[this.head]!.offset + 1n;
      this.head++;
    }
    if (this.head > 1_024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
    return this.committable !== before;
  }
}

/** Limits concurrent handlers across every partition this consumer holds. */
class Semaphore {
  private available: number;
  private readonly waiters: (() => void)[] = [];

  constructor(size: number) {
    this.available = Math.max(1, size);
  }

  async acquire(): Promise<() => void> {
    if (this.available > 0) this.available--;
    else await new Promise<void>((resolve) => this.waiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.available++;
    };
  }
}
