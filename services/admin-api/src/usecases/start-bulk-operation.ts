import { newId, recordAudit, type BulkOperation } from '@hub/db';
import type { AdminDeps } from '../deps.ts';
import { estimateDlq } from '../repositories/attempts.ts';
import { createBulkJob } from '../repositories/bulk-jobs.ts';
import type { BulkBody } from '../routes/schemas.ts';
import { resolveFilter } from './resolve-filter.ts';

const SAMPLE_SIZE = 10;
const ACTION: Record<BulkOperation, string> = { REPLAY: 'DLQ_BULK_REPLAY', DISCARD: 'DLQ_BULK_DISCARD' };

/** The filters as the operator gave them, for the job row and the audit trail. */
function filtersOf(body: BulkBody) {
  return {
    channel: body.channel ?? null,
    topic: body.topic ?? null,
    from: body.from?.toISOString() ?? null,
    to: body.to?.toISOString() ?? null,
    errorType: body.errorType ?? null,
  };
}

/**
 * POST /dlq/bulk-replay and /dlq/bulk-discard. Safe by default: unless `confirm` is exactly
 * true it only counts and samples (a dry run, audited too). Confirmed, it persists a RUNNING job
 * with the snapshot of matching attempts in one transaction and returns at once; a
 * BulkJobRunner in any replica works it (this replica's is woken at once).
 */
export async function startBulkOperation(
  deps: Pick<AdminDeps, 'db' | 'topics' | 'logger' | 'metrics' | 'bulkJobCreated'>,
  input: { operation: BulkOperation; body: BulkBody; actor: string },
) {
  const filter = resolveFilter(deps.topics, input.body);
  const filters = filtersOf(input.body);
  const reason = input.body.reason ?? null;
  const prefix = ACTION[input.operation];
  const log = deps.logger.child({ component: 'dlq', actor: input.actor, operation: input.operation });

  if (input.body.confirm !== true) {
    const action = `${prefix}_DRYRUN`;
    const estimate = await estimateDlq(deps.db, filter, SAMPLE_SIZE);
    await recordAudit(deps.db, {
      actor: input.actor,
      action,
      targetType: 'dlq',
      targetId: null,
      details: { filters, reason, estimatedCount: estimate.count },
    });
    deps.metrics.actions.inc({ action, outcome: 'done' });
    log.info({ action, filters, estimatedCount: estimate.count }, 'dlq bulk dry run');
    return { mode: 'DRY_RUN' as const, estimatedCount: estimate.count, sampleAttemptIds: estimate.sampleIds, jobId: null };
  }

  const action = `${prefix}_START`;
  const jobId = newId();
  const snapshot = await deps.db.transaction().execute(async (tx) => {
    const created = await createBulkJob(tx, { id: jobId, operation: input.operation, filters, reason, actor: input.actor }, filter);
    await recordAudit(tx, {
      actor: input.actor,
      action,
      targetType: 'bulk_job',
      targetId: jobId,
      details: { filters, reason, totalCount: created.totalCount },
    });
    return created;
  });
  deps.bulkJobCreated?.();
  deps.metrics.actions.inc({ action, outcome: 'done' });
  log.info({ action, jobId, filters, totalCount: snapshot.totalCount }, 'dlq bulk job started');
  return { mode: 'EXECUTING' as const, jobId, totalCount: snapshot.totalCount };
}
