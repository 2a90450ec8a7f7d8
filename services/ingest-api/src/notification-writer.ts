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

/** insertNotifications failed because Postgres already holds a key of the batch (its primary key). */
function isKeyConflict(err: unknown): boolean {
  return err instanceof Error && 'code' in err && err.code === '23505' && 'constraint_name' in err && err.constraint_name === 'idempotency_keys_pkey';
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
   * owned by no one, be retried together forever; the second waits for a later batch instead.
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
      // One statement, its own transaction: a taken key fails (rolls back) the whole batch.
      await insertNotifications(this.sql, batch.map((p) => p.write));
      for (const p of batch) p.resolve();
    } catch (err) {
      try {
        if (isKeyConflict(err)) return await this.sortOutConflict(batch);
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

  /**
   * The writes whose key Postgres now holds lose (IdempotencyKeyTaken, naming the owner); the
   * others go again. The conflict does not say which keys were taken, so one read asks for all.
   */
  private async sortOutConflict(batch: Pending[]): Promise<void> {
    const owners = new Map(
      (
        await this.db
          .selectFrom('idempotency_keys')
          .select(['key', 'notification_id'])
          .where('key', 'in', batch.map((p) => p.write.idempotencyKey))
          .execute()
      ).map((row) => [row.key, row.notification_id]),
    );
    const retry: Pending[] = [];
    for (const p of batch) {
      const owner = owners.get(p.write.idempotencyKey);
      if (owner === undefined) retry.push(p);
      else p.reject(new IdempotencyKeyTaken(owner));
    }
    this.queue.unshift(...retry);
  }
}
