import { sql } from 'kysely';
import { newId, type DeviceToken } from '@hub/db';
import type { Caller } from '../auth.ts';
import type { Deps } from '../deps.ts';
import { recipientNotFound, visibleRecipients } from './get-recipient.ts';

export function deviceView(row: Pick<DeviceToken, 'id' | 'recipient_id' | 'platform' | 'active' | 'created_at'>) {
  return { id: row.id, recipientId: row.recipient_id, platform: row.platform, active: row.active, createdAt: row.created_at.toISOString() };
}

/** True in ON CONFLICT DO UPDATE when the token's current row belongs to another recipient. */
const moved = sql<boolean>`device_tokens.recipient_id <> excluded.recipient_id`;
const ifMoved = <T>(column: 'platform' | 'updated_at') =>
  sql<T>`case when ${moved} then ${sql.ref(`excluded.${column}`)} else ${sql.ref(`device_tokens.${column}`)} end`;

/**
 * Registers a device token for a recipient the caller may see (SPEC §3). A token new to the hub
 * is inserted (`created`). A token already registered for this recipient returns that
 * registration unchanged: apps re-register on every start. A token registered for another
 * recipient moves to this one (the phone changed hands): new owner and platform, active again
 * (the app just obtained it from its vendor, so a rejection recorded for the previous owner no
 * longer holds), and the previous owner's notifications stop fanning out to it. The move is
 * allowed across callers: presenting the token proves possession of the device, and the answer
 * never names the previous owner. One statement on the unique token column, so concurrent
 * registrations of one token, for one recipient or several, always end in one row.
 */
export async function registerDevice(
  deps: Pick<Deps, 'db' | 'clock'>,
  input: { recipientId: string; platform: DeviceToken['platform']; token: string; caller: Caller },
): Promise<{ created: boolean; device: ReturnType<typeof deviceView> }> {
  const recipient = await visibleRecipients(deps.db, input.caller).select('id').where('id', '=', input.recipientId).executeTakeFirst();
  if (!recipient) throw recipientNotFound(input.recipientId);
  const now = deps.clock();
  const row = await deps.db
    .insertInto('device_tokens')
    .values({ id: newId(), recipient_id: input.recipientId, platform: input.platform, token: input.token, created_at: now, updated_at: now })
    .onConflict((oc) =>
      // Every SET expression reads the row as it was, so `moved` means the same in each.
      oc.column('token').doUpdateSet({
        recipient_id: (eb) => eb.ref('excluded.recipient_id'),
        platform: ifMoved<DeviceToken['platform']>('platform'),
        active: sql<boolean>`device_tokens.active or ${moved}`,
        disabled_reason: sql<string | null>`case when ${moved} then null else device_tokens.disabled_reason end`,
        updated_at: ifMoved<Date>('updated_at'),
      }),
    )
    // xmax = 0 only on a freshly inserted row.
    .returning(['id', 'recipient_id', 'platform', 'active', 'created_at', sql<boolean>`xmax = 0`.as('inserted')])
    .executeTakeFirstOrThrow();
  return { created: row.inserted, device: deviceView(row) };
}
