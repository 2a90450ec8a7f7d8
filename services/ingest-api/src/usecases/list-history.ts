import type { Deps } from '../deps.ts';

/**
 * Newest first, keyset on the UUIDv7 id (time-ordered and unique, so rows created in the same
 * millisecond are neither skipped nor repeated). A well-formed cursor that names no
 * notification of this recipient starts over at the first page.
 */
export async function listHistory(deps: Pick<Deps, 'db'>, input: { recipientId: string; cursor?: string | undefined; limit: number }) {
  let cursor = input.cursor?.toLowerCase();
  if (cursor !== undefined) {
    const known = await deps.db
      .selectFrom('notifications')
      .select('id')
      .where('id', '=', cursor)
      .where('recipient_id', '=', input.recipientId)
      .executeTakeFirst();
    if (!known) cursor = undefined;
  }
  let query = deps.db
    .selectFrom('notifications')
    .select(['id', 'title', 'kind', 'status', 'created_at'])
    .where('recipient_id', '=', input.recipientId)
    .orderBy('id', 'desc')
    .limit(input.limit + 1);
  if (cursor !== undefined) query = query.where('id', '<', cursor);
  const rows = await query.execute();
  const page = rows.slice(0, input.limit);
  return {
    items: page.map((r) => ({ notificationId: r.id, title: r.title, kind: r.kind, status: r.status, createdAt: r.created_at.toISOString() })),
    nextCursor: rows.length > input.limit ? page[page.length - 1]!.id : null,
  };
}
