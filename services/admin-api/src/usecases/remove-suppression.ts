import { recordAudit } from '@hub/db';
import { maskAddress } from '@hub/domain';
import { notFound } from '@hub/http';
import type { AdminDeps } from '../deps.ts';
import { presentSuppression } from './list-suppressions.ts';

/**
 * DELETE /suppressions/{id}: the address may be sent to again (the mailbox exists again, the
 * recipient asked to be reinstated). The row and its SUPPRESSION_REMOVE audit row (masked
 * address, reason, source) go in one transaction; the audit trail keeps what was removed.
 */
export async function removeSuppression(deps: Pick<AdminDeps, 'db' | 'logger' | 'metrics'>, input: { id: string; actor: string }) {
  const removed = await deps.db.transaction().execute(async (tx) => {
    const row = await tx.deleteFrom('suppressed_addresses').where('id', '=', input.id).returningAll().executeTakeFirst();
    if (!row) return undefined;
    await recordAudit(tx, {
      actor: input.actor,
      action: 'SUPPRESSION_REMOVE',
      targetType: 'suppressed_address',
      targetId: row.id,
      details: { channel: row.channel, address: maskAddress(row.channel, row.address), reason: row.reason, source: row.source, attemptId: row.attempt_id },
    });
    return row;
  });
  const log = deps.logger.child({ component: 'suppressions', action: 'SUPPRESSION_REMOVE', actor: input.actor, suppressionId: input.id });
  if (!removed) {
    deps.metrics.actions.inc({ action: 'SUPPRESSION_REMOVE', outcome: 'refused' });
    throw notFound('SUPPRESSION_NOT_FOUND', `suppression ${input.id} does not exist`);
  }
  deps.metrics.actions.inc({ action: 'SUPPRESSION_REMOVE', outcome: 'done' });
  log.info({ channel: removed.channel, reason: removed.reason }, 'suppression removed');
  return { removed: presentSuppression(removed) };
}
