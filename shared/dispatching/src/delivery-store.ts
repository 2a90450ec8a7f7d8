import type { Logger } from 'pino';
import type { AttemptStatus, BackoffScale } from '@hub/domain';
import type { Db } from '@hub/db';
import type { Topics } from '@hub/messaging';
import { claimAttempts, completeNotifications, recordOutcomes, type ClaimedAttempt, type DispatchOutcome } from './attempts.ts';
import { MicroBatcher } from './micro-batcher.ts';

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
 * The dispatcher's two writes, micro-batched across concurrent deliveries: the claim
 * (PENDING → DISPATCHING) and the outcome transaction. Each caller still gets its own answer
 * and returns only after the transaction holding its outcome committed.
 */
export class DeliveryStore {
  private readonly claims: MicroBatcher<{ attemptId: string; retryCount: number }, ClaimedAttempt | undefined>;
  private readonly outcomes: MicroBatcher<{ attempt: ClaimedAttempt; outcome: DispatchOutcome }, AttemptStatus | null>;
  private readonly db: Db;
  private readonly clock: () => Date;

  constructor(options: DeliveryStoreOptions) {
    const { db, topics, clock, logger, leaseMs, backoff } = options;
    this.db = db;
    this.clock = clock;
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
      run: async (items) => {
        const contended = new Set<string>();
        const statuses = await retryInPlace(logger, () => {
          contended.clear();
          return db.transaction().execute((tx) => recordOutcomes(tx, { topics, now: clock(), backoff, contended }, items));
        });
        // After the commit, so this waits for the other channel's transaction with nothing of
        // ours held. If it fails, the error reaches the consumer, which retries the message; its
        // claim then finds the attempt final and completes the notification (completeIfDone).
        if (contended.size > 0) await retryInPlace(logger, () => completeNotifications(db, [...contended], clock()));
        return statuses;
      },
    });
  }

  /** The attempt, now DISPATCHING and ours; undefined for a stale or duplicate message. */
  claim(message: { attemptId: string; retryCount: number }): Promise<ClaimedAttempt | undefined> {
    return this.claims.submit(message);
  }

  /** Completes the notification if all its attempts are final (for a message whose attempt already is). */
  completeIfDone(notificationId: string): Promise<void> {
    return completeNotifications(this.db, [notificationId], this.clock());
  }

  /** The attempt's new status, or null if the relay recovered it first (lease expired). */
  record(attempt: ClaimedAttempt, outcome: DispatchOutcome): Promise<AttemptStatus | null> {
    return this.outcomes.submit({ attempt, outcome });
  }
}

/**
 * The vendor has been called: losing its answer to a database blip would mean sending again
 * after the lease. So the outcome transaction is retried here for a while (it is conditional,
 * hence safe to repeat) before the error goes up to the consumer, which retries the message.
 */
async function retryInPlace<T>(logger: Logger, work: () => Promise<T>): Promise<T> {
  for (let failures = 0; ; failures++) {
    try {
      return await work();
    } catch (err) {
      if (failures >= 5) throw err;
      logger.warn({ err, failures: failures + 1 }, 'recording delivery outcomes failed, retrying');
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** failures));
    }
  }
}
