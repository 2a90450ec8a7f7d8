import { notFound } from '@hub/http';
import type { Caller } from '../auth.ts';
import type { Deps } from '../deps.ts';
import { visibleRecipients } from './get-recipient.ts';

/**
 * Removes a device registration; attempts already made keep their copy of the address. A device
 * of a recipient the caller may not see answers like one that does not exist (ADR 0021).
 */
export async function unregisterDevice(deps: Pick<Deps, 'db'>, input: { id: string; caller: Caller }): Promise<void> {
  let query = deps.db.deleteFrom('device_tokens').where('id', '=', input.id);
  if (input.caller.kind !== 'anyone') query = query.where('recipient_id', 'in', visibleRecipients(deps.db, input.caller).select('id'));
  const result = await query.executeTakeFirst();
  if (result.numDeletedRows === 0n) throw notFound('NOT_FOUND', `device ${input.id} does not exist`);
}
