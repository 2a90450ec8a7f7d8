import { notFound } from '@hub/http';
import type { AdminDeps } from '../deps.ts';
import { findAttemptDetail } from '../repositories/attempts.ts';
import { presentDetail } from './present.ts';

/**
 * One attempt's detail. Any state is shown (not only EXHAUSTED), so an operator can follow an
 * attempt after replaying it; `status` says whether it is in the DLQ.
 */
export async function getDlqAttempt(deps: Pick<AdminDeps, 'db' | 'topics'>, attemptId: string) {
  const row = await findAttemptDetail(deps.db, attemptId);
  if (!row) throw notFound('ATTEMPT_NOT_FOUND', `attempt ${attemptId} does not exist`);
  return presentDetail(row, deps.topics);
}
