import type { AdminDeps } from '../deps.ts';
import { listDlqPage } from '../repositories/attempts.ts';
import type { DlqFilter } from '../repositories/dlq-filter.ts';
import { presentSummary } from './present.ts';

/**
 * A keyset page of DLQ entries (ascending id). One extra row is read so `nextCursor` is null
 * exactly when there is nothing after this page. An unknown but well-formed cursor simply
 * continues after that id.
 */
export async function listDlq(deps: Pick<AdminDeps, 'db'>, input: { filter: DlqFilter; cursor?: string | undefined; limit: number }) {
  const rows = await listDlqPage(deps.db, {
    filter: input.filter,
    limit: input.limit + 1,
    ...(input.cursor ? { after: input.cursor } : {}),
  });
  const page = rows.slice(0, input.limit);
  const hasMore = rows.length > input.limit;
  return { items: page.map(presentSummary), nextCursor: hasMore ? (page.at(-1)?.id ?? null) : null };
}
