import { newId, type DeviceToken } from '@hub/db';
import { notFound } from '@hub/http';
import type { Deps } from '../deps.ts';

export function deviceView(row: Pick<DeviceToken, 'id' | 'recipient_id' | 'platform' | 'active' | 'created_at'>) {
  return { id: row.id, recipientId: row.recipient_id, platform: row.platform, active: row.active, createdAt: row.created_at.toISOString() };
}

/**
 * Registers a device token. A token already registered returns that registration unchanged
 * (`created: false`): apps re-register on every start, and the unique token column makes a
 * concurrent double registration collapse into one row.
 */
export async function registerDevice(
  deps: Pick<Deps, 'db' | 'clock'>,
  input: { recipientId: string; platform: DeviceToken['platform']; token: string },
): Promise<{ created: boolean; device: ReturnType<typeof deviceView> }> {
  const recipient = await deps.db.selectFrom('recipients').select('id').where('id', '=', input.recipientId).executeTakeFirst();
  if (!recipient) throw notFound('RECIPIENT_NOT_FOUND', `recipient ${input.recipientId} does not exist`);
  const now = deps.clock();
  const inserted = await deps.db
    .insertInto('device_tokens')
    .values({ id: newId(), recipient_id: input.recipientId, platform: input.platform, token: input.token, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('token').doNothing())
    .returning(['id', 'recipient_id', 'platform', 'active', 'created_at'])
    .executeTakeFirst();
  if (inserted) return { created: true, device: deviceView(inserted) };
  const existing = await deps.db
    .selectFrom('device_tokens')
    .select(['id', 'recipient_id', 'platform', 'active', 'created_at'])
    .where('token', '=', input.token)
    .executeTakeFirstOrThrow();
  return { created: false, device: deviceView(existing) };
}
