import type { Caller } from '../auth.ts';
import type { Deps } from '../deps.ts';
import { visibleNotifications } from './get-notification.ts';
import { requireVisibleRecipient } from './get-recipient.ts';

/**
 * Newest first, keyset on the UUIDv7 id (time-ordered and unique, so rows created in the same
 * millisecond are neither skipped nor repeated). A well-formed cursor that names no
 * notification of this recipient starts over at the first page. With authentication on, the
 * recipient must be one the caller may see (else 404, as for one that does not exist), and the
 * page holds only the notifications the caller may see (ADR 0021).
 */
export async function listHistory(deps: Pick<Deps, 'db'>, input: { recipientId: string; cursor?: string | undefined; limit: number; caller: Caller }) {
  const { caller } = input;
  if (caller.kind !== 'anyone') await requireVisibleRecipient(deps.db, caller, input.recipientId);
  let cursor = input.cursor?.toLowerCase();
  if (cursor !== undefined) {
    const known = await visibleNotifications(deps.db, caller)
      .select('id')
      .where('id', '=', cursor)
      .where('recipient_id', '=', input.recipientId)
      .executeTakeFirst();
    if (!known) cursor = undefined;
  }
  let query = visibleNotifications(deps.db, caller)
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
