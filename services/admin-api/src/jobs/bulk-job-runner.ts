import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { discardExhaustedAttempt, replayExhaustedAttempt, type DlqOperationResult } from '@hub/attempts';
import { recordAudit, type BulkOperation } from '@hub/db';
import type { AdminDeps } from '../deps.ts';
import {
  claimBulkJob,
  claimItem,
  finishBulkJob,
  markItemFailed,
  nextTargets,
  recordFailedItem,
  releaseBulkJob,
  saveProgress,
  type BulkJobRow,
} from '../repositories/bulk-jobs.ts';

export interface BulkJobRunnerOptions {
  /** Lease holder name; unique per runner instance. */
  owner?: string;
  pageSize: number;
  concurrency: number;
  leaseMs: number;
  pollIntervalMs: number;
}

type ItemOutcome = 'SUCCEEDED' | 'FAILED' | 'SKIPPED';

const AUDIT_PREFIX: Record<BulkOperation, string> = { REPLAY: 'DLQ_BULK_REPLAY', DISCARD: 'DLQ_BULK_DISCARD' };

/**
 * Works bulk DLQ jobs in the background; one runs in every admin-api replica. A runner claims a
 * RUNNING job whose lease is free or expired, works through its snapshot page by page (each
 * attempt in its own transaction, claimed through bulk_job_items so it is never handled twice),
 * saves progress and renews the lease after each page, and finishes the job with its counts.
 * `stop()` finishes the page in flight and hands the job back for another replica to resume.
 */
export class BulkJobRunner {
  private readonly deps: Pick<AdminDeps, 'db' | 'logger' | 'metrics' | 'topics' | 'clock'>;
  private readonly options: Required<BulkJobRunnerOptions>;
  private readonly log: Logger;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(deps: Pick<AdminDeps, 'db' | 'logger' | 'metrics' | 'topics' | 'clock'>, options: BulkJobRunnerOptions) {
    this.deps = deps;
    this.options = { owner: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`, ...options };
    this.log = deps.logger.child({ component: 'bulk-job-runner', owner: this.options.owner });
  }

  get owner(): string {
    return this.options.owner;
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
  }

  /** True while it sleeps between looks for a job (none was found, or it backs off). */
  get idle(): boolean {
    return this.wake !== undefined;
  }

  /** A job was just created: look now instead of at the next poll (no-op while working one). */
  wakeUp(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let job: BulkJobRow | undefined;
      try {
        job = await claimBulkJob(this.deps.db, this.options.owner, this.options.leaseMs);
      } catch (err) {
        this.log.error({ err }, 'claiming a bulk job failed');
      }
      if (job) {
        await this.work(job);
        continue;
      }
      await this.sleep(this.options.pollIntervalMs);
    }
  }

  private async work(job: BulkJobRow): Promise<void> {
    const log = this.log.child({ jobId: job.id, operation: job.operation });
    const owner = this.options.owner;
    this.deps.metrics.bulkJobsRunning.inc({ operation: job.operation });
    log.info({ cursor: job.cursor, totalCount: job.total_count }, 'bulk job claimed');
    try {
      let cursor = job.cursor;
      while (!this.stopping) {
        const ids = await nextTargets(this.deps.db, job.id, cursor, this.options.pageSize);
        if (ids.length === 0) {
          await this.finish(job, log);
          return;
        }
        await this.processPage(job, ids);
        const last = ids[ids.length - 1]!;
        cursor = last;
        if (!(await saveProgress(this.deps.db, { id: job.id, owner, cursor: last, leaseMs: this.options.leaseMs }))) {
          log.warn('bulk job lease lost to another replica; leaving the job to it');
          return;
        }
      }
      await releaseBulkJob(this.deps.db, { id: job.id, owner });
      log.info({ cursor }, 'bulk job handed back on stop');
    } catch (err) {
      // Infrastructure trouble (the database went away): hand the job back so this or another
      // replica resumes it; the items already committed are never redone.
      log.error({ err }, 'bulk job interrupted; handing it back');
      await releaseBulkJob(this.deps.db, { id: job.id, owner }).catch(() => {});
      await this.sleep(this.options.pollIntervalMs);
    } finally {
      this.deps.metrics.bulkJobsRunning.dec({ operation: job.operation });
    }
  }

  /**
   * Runs the page's items with bounded concurrency; each is its own transaction. If one cannot
   * even be recorded (the database is gone), the others stop taking new items and the error
   * goes up so the job is handed back.
   */
  private async processPage(job: BulkJobRow, ids: string[]): Promise<void> {
    let next = 0;
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      while (!failure && next < ids.length) {
        const attemptId = ids[next++]!;
        try {
          const outcome = await this.processItem(job, attemptId);
          if (outcome !== 'SKIPPED') this.deps.metrics.bulkItems.inc({ operation: job.operation, outcome });
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, ids.length) }, worker));
    if (failure) throw failure.error;
  }

  private async processItem(job: BulkJobRow, attemptId: string): Promise<ItemOutcome> {
    try {
      return await this.applyItem(job, attemptId);
    } catch (err) {
      // The item's transaction rolled back, so nothing of it happened. Record it as a failed
      // item, so one attempt the database refuses cannot stall the whole job; if even that
      // fails, the database is unreachable and the caller hands the job back.
      this.log.warn({ err, jobId: job.id, attemptId }, 'bulk job item failed');
      const message = err instanceof Error ? err.message : String(err);
      return (await recordFailedItem(this.deps.db, job.id, attemptId, `attempt ${attemptId} could not be processed: ${message}`))
        ? 'FAILED'
        : 'SKIPPED';
    }
  }

  private async applyItem(job: BulkJobRow, attemptId: string): Promise<ItemOutcome> {
    return this.deps.db.transaction().execute(async (tx) => {
      if (!(await claimItem(tx, job.id, attemptId))) return 'SKIPPED';
      const ctx = { topics: this.deps.topics, now: this.deps.clock() };
      const result: DlqOperationResult =
        job.operation === 'REPLAY' ? await replayExhaustedAttempt(tx, ctx, attemptId) : await discardExhaustedAttempt(tx, ctx, attemptId);
      if (result.ok) return 'SUCCEEDED';
      const error =
        result.status === null
          ? `attempt ${attemptId} no longer exists`
          : `attempt ${attemptId} is ${result.status}, no longer EXHAUSTED`;
      await markItemFailed(tx, job.id, attemptId, error);
      return 'FAILED';
    });
  }

  private async finish(job: BulkJobRow, log: Logger): Promise<void> {
    const action = `${AUDIT_PREFIX[job.operation]}_FINISH`;
    const finished = await this.deps.db.transaction().execute(async (tx) => {
      const row = await finishBulkJob(tx, { id: job.id, owner: this.options.owner });
      if (row) {
        await recordAudit(tx, {
          actor: job.actor,
          action,
          targetType: 'bulk_job',
          targetId: job.id,
          details: {
            state: row.state,
            totalCount: row.total_count,
            processedCount: row.processed_count,
            successCount: row.success_count,
            failureCount: row.failure_count,
            firstError: row.first_error,
            reason: job.reason,
          },
        });
      }
      return row;
    });
    if (!finished) {
      log.warn('bulk job was finished or taken over by another replica');
      return;
    }
    this.deps.metrics.actions.inc({ action, outcome: finished.state.toLowerCase() });
    log.info(
      {
        state: finished.state,
        totalCount: finished.total_count,
        successCount: finished.success_count,
        failureCount: finished.failure_count,
        actor: job.actor,
      },
      'bulk job finished',
    );
  }

  /** Waits `ms`, or less when stop() or wakeUp() wakes it. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
