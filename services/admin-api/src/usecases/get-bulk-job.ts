import { notFound } from '@hub/http';
import type { AdminDeps } from '../deps.ts';
import { findBulkJob } from '../repositories/bulk-jobs.ts';

/** GET /dlq/bulk-jobs/{jobId}: progress as saved by whichever replica works the job. */
export async function getBulkJob(deps: Pick<AdminDeps, 'db'>, jobId: string) {
  const job = await findBulkJob(deps.db, jobId);
  if (!job) throw notFound('BULK_JOB_NOT_FOUND', `bulk job ${jobId} does not exist`);
  return {
    jobId: job.id,
    operation: job.operation,
    state: job.state,
    totalCount: job.total_count,
    processedCount: job.processed_count,
    successCount: job.success_count,
    failureCount: job.failure_count,
    firstError: job.first_error,
    filters: job.filters,
    reason: job.reason,
    actor: job.actor,
    createdAt: job.created_at.toISOString(),
    updatedAt: job.updated_at.toISOString(),
    finishedAt: job.finished_at ? job.finished_at.toISOString() : null,
  };
}
