import pRetry from 'p-retry';
import type { Logger } from 'pino';
import { claimAttempts, completeNotifications, recordOutcomes, recordSuccesses, type ClaimedAttempt, type DispatchOutcome } from '@hub/attempts';
import { exponentialBackoffMs, type AttemptStatus, type BackoffScale } from '@hub/domain';
import { MicroBatcher, type Db } from '@hub/db';
import type { Topics } from '@hub/messaging';

export interface DeliveryStoreOptions {
  db: Db;
  topics: Topics;
  clock: () => Date;
  logger: Logger;
  leaseMs: number;
  backoff: BackoffScale;
  /** Claims or outcomes per statement/transaction. */
  maxBatch?: number;
  /** Batches in flight at once per kind (each holds one pooled connection). */
  maxConcurrent?: number;
}

/**
 * The dispatcher's writes, micro-batched across concurrent deliveries: the claim (PENDING →
 * DISPATCHING), the outcome transaction, and the completion of notifications whose last
 * attempt succeeded. Each caller still gets its own answer and returns only after the
 * transaction holding its write committed.
 */
export class DeliveryStore {
  private readonly claims: MicroBatcher<{ attemptId: string; retryCount: number }, ClaimedAttempt | undefined>;
  private readonly outcomes: MicroBatcher<{ attempt: ClaimedAttempt; outcome: DispatchOutcome }, AttemptStatus | null>;
  private readonly completions: MicroBatcher<string, undefined>;

  constructor(options: DeliveryStoreOptions) {
    const { db, topics, clock, logger, leaseMs, backoff } = options;
    const maxSize = options.maxBatch ?? 200;
    const maxConcurrent = options.maxConcurrent ?? 4;
    this.claims = new MicroBatcher({
      maxSize,
      maxConcurrent,
      run: (items) => claimAttempts(db, items, { leaseMs, now: clock() }),
    });
    this.outcomes = new MicroBatcher({
      maxSize,
      maxConcurrent,
      run: (items) =>
        retryInPlace(logger, () => {
          const ctx = { topics, now: clock(), backoff };
          const successes = items.flatMap(({ attempt, outcome }) => (outcome.kind === 'succeeded' ? [{ attempt, vendorMessageId: outcome.vendorMessageId }] : []));
          // All successes (the common case): one statement, atomic without a transaction.
          if (successes.length === items.length) return recordSuccesses(db, ctx, successes);
          return db.transaction().execute((tx) => recordOutcomes(tx, ctx, items));
        }),
    });
    // Its own transactions, after the outcomes committed: one may wait for another channel's
    // dispatcher holding the same notification, with no outcome of ours held open behind it.
    this.completions = new MicroBatcher({
      maxSize: 500,
      maxConcurrent: 2,
      run: async (ids) => {
        await retryInPlace(logger, () => completeNotifications(db, [...new Set(ids)], clock()));
        return ids.map(() => undefined);
      },
    });
  }

  /** The attempt, now DISPATCHING and ours; undefined for a stale or duplicate message. */
  claim(message: { attemptId: string; retryCount: number }): Promise<ClaimedAttempt | undefined> {
    return this.claims.submit(message);
  }

  /** The attempt's new status once committed, or null if the relay recovered it first (lease expired). */
  record(attempt: ClaimedAttempt, outcome: DispatchOutcome): Promise<AttemptStatus | null> {
    return this.outcomes.submit({ attempt, outcome });
  }

  /**
   * Completes the notification if all its attempts are final: after a success was recorded, and
   * for a message whose attempt already is final (the process died between the two steps).
   */
  completeIfDone(notificationId: string): Promise<undefined> {
    return this.completions.submit(notificationId);
  }
}

/**
 * The vendor has been called: losing its answer to a database outage would mean sending again
 * after the lease. So the outcome write is retried here until it lands (it is conditional, hence
 * safe to repeat), 100 ms doubling up to 5 s between tries; the handler, and with it the offset,
 * waits. An outage shorter than the lease loses nothing; past the lease the relay may recover
 * the attempt first, and then this write finds it no longer ours (null).
 */
function retryInPlace<T>(logger: Logger, work: () => Promise<T>): Promise<T> {
  // p-retry gives up at once on a TypeError (a bug, to it); kysely raises one when it rolls back
  // a transaction whose connection died. That is an outage, so it is retried like any other.
  const attempt = () =>
    work().catch((err: unknown) => {
      throw err instanceof TypeError ? new Error(`outcome write failed: ${err.message}`, { cause: err }) : err;
    });
  return pRetry(attempt, {
    retries: Infinity,
    minTimeout: 0,
    onFailedAttempt: async ({ error, attemptNumber }) => {
      logger.warn({ err: error, failures: attemptNumber }, 'recording delivery outcomes failed, retrying');
      await new Promise((resolve) => setTimeout(resolve, exponentialBackoffMs(attemptNumber - 1, { baseMs: 100, maxMs: 5_000 })));
    },
  });
}
