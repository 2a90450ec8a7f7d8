import type { Logger } from 'pino';
import type postgres from 'postgres';
import { insertNotifications, type NotificationWrite } from '@hub/attempts';
import type { Db } from '@hub/db';

/** Postgres already holds the idempotency key: the request duplicates `notificationId`. */
export class IdempotencyKeyTaken extends Error {
  readonly notificationId: string;
  constructor(notificationId: string) {
    super('idempotency key exists in postgres');
    this.name = 'IdempotencyKeyTaken';
    this.notificationId = notificationId;
  }
}

/** Some keys of a batch were taken: roll the batch back and sort out who lost. */
class KeysConflicted extends Error {
  readonly won: Set<string>;
  constructor(won: Set<string>) {
    super('idempotency keys conflicted inside a batch');
    this.won = won;
  }
}

interface Pending {
  write: NotificationWrite;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Set after a batch failed for another reason: write this one in its own transaction. */
  alone: boolean;
}

/**
 * Writes notifications with group commit: while `maxConcurrent` transactions are in flight,
 * new writes queue up, and the next transaction takes up to `maxBatch` of them at once. Each
 * write still is all-or-nothing and committed before its promise resolves; many requests
 * share one commit (one WAL flush) instead of paying one each. Under light load every write
 * gets its own transaction immediately, so batching adds no latency.
 *
 * Isolation between requests in a batch: a key conflict rolls the batch back, rejects the
 * losers with IdempotencyKeyTaken and retries the rest; any other failure retries each write
 * in its own transaction, so one bad write never fails its neighbours.
 */
export class NotificationWriter {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private readonly db: Db;
  private readonly sql: postgres.Sql;
  private readonly logger: Logger;
  private readonly maxBatch: number;
  private readonly maxConcurrent: number;

  constructor(deps: { db: Db; sql: postgres.Sql; logger: Logger }, options: { maxBatch: number; maxConcurrent: number }) {
    this.db = deps.db;
    this.sql = deps.sql;
    this.logger = deps.logger;
    this.maxBatch = options.maxBatch;
    this.maxConcurrent = options.maxConcurrent;
  }

  /** Resolves once the write committed; rejects with IdempotencyKeyTaken or the write's error. */
  write(write: NotificationWrite): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ write, resolve, reject, alone: false });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxConcurrent && this.queue.length > 0) {
      const batch = this.queue[0]!.alone ? this.queue.splice(0, 1) : this.takeBatch();
      this.inFlight++;
      void this.flush(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  /**
   * The next batch: writes from the head of the queue up to the first that must go alone, but
   * never two with the same key. Such a pair would always conflict with itself and, its key
   * "won", be retried together forever; the second waits for a later batch instead.
   */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const keys = new Set<string>();
    for (let i = 0; i < this.queue.length && batch.length < this.maxBatch && !this.queue[i]!.alone; ) {
      const pending = this.queue[i]!;
      if (keys.has(pending.write.idempotencyKey)) {
        i++;
        continue;
      }
      keys.add(pending.write.idempotencyKey);
      batch.push(pending);
      this.queue.splice(i, 1);
    }
    return batch;
  }

  private async flush(batch: Pending[]): Promise<void> {
    try {
      const writes = batch.map((p) => p.write);
      await this.sql.begin(async (tx) => {
        const won = await insertNotifications(tx, writes);
        // Thrown inside the transaction: a lost key rolls back the whole batch.
        if (won.size < writes.length) throw new KeysConflicted(won);
      });
      for (const p of batch) p.resolve();
    } catch (err) {
      try {
        if (err instanceof KeysConflicted) return await this.sortOutConflict(batch, err.won);
        if (batch.length > 1) {
          this.logger.warn({ err, batch: batch.length }, 'batched notification write failed, retrying each alone');
          for (const p of batch) p.alone = true;
          this.queue.unshift(...batch);
          return;
        }
        batch[0]!.reject(err);
      } catch (unexpected) {
        for (const p of batch) p.reject(unexpected);
      }
    }
  }

  private async sortOutConflict(batch: Pending[], won: Set<string>): Promise<void> {
    const retry: Pending[] = [];
    for (const p of batch) {
      if (won.has(p.write.idempotencyKey)) {
        retry.push(p);
        continue;
      }
      try {
        const owner = await this.db
          .selectFrom('idempotency_keys')
          .select('notification_id')
          .where('key', '=', p.write.idempotencyKey)
          .executeTakeFirst();
        // No owner: the key was taken by a neighbour in this (rolled back) batch; try again.
        if (owner) p.reject(new IdempotencyKeyTaken(owner.notification_id));
        else retry.push({ ...p, alone: true });
      } catch (err) {
        p.reject(err);
      }
    }
    this.queue.unshift(...retry);
  }
}
