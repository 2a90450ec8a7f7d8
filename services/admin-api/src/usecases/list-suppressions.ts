import { maskAddress, type Channel } from '@hub/domain';
import type { SuppressedAddress } from '@hub/db';
import type { AdminDeps } from '../deps.ts';

export function presentSuppression(row: SuppressedAddress) {
  return {
    id: row.id,
    channel: row.channel,
    address: maskAddress(row.channel, row.address),
    reason: row.reason,
    source: row.source,
    attemptId: row.attempt_id,
    createdAt: row.created_at.toISOString(),
  };
}

/**
 * GET /suppressions: a keyset page by ascending id (UUIDv7, so oldest first), optionally of one
 * channel. One extra row is read so `nextCursor` is null exactly when nothing follows.
 */
export async function listSuppressions(deps: Pick<AdminDeps, 'db'>, input: { channel?: Channel | undefined; cursor?: string | undefined; limit: number }) {
  let query = deps.db
    .selectFrom('suppressed_addresses')
    .select(['id', 'channel', 'address', 'reason', 'source', 'attempt_id', 'created_at'])
    .orderBy('id')
    .limit(input.limit + 1);
  if (input.channel) query = query.where('channel', '=', input.channel);
  if (input.cursor) query = query.where('id', '>', input.cursor);
  const rows = await query.execute();
  const page = rows.slice(0, input.limit);
  return { items: page.map(presentSuppression), nextCursor: rows.length > input.limit ? (page.at(-1)?.id ?? null) : null };
}
