import { notFound } from '@hub/http';
import type { Deps } from '../deps.ts';

/** Removes a device registration; attempts already made keep their copy of the address. */
export async function unregisterDevice(deps: Pick<Deps, 'db'>, input: { id: string }): Promise<void> {
  const result = await deps.db.deleteFrom('device_tokens').where('id', '=', input.id).executeTakeFirst();
  if (result.numDeletedRows === 0n) throw notFound('NOT_FOUND', `device ${input.id} does not exist`);
}
