import type { DbOrTx } from '@hub/db';
import { notFound } from '@hub/http';
import type { Caller } from '../auth.ts';
import type { Deps } from '../deps.ts';
import { recipientView, type RecipientView } from './put-recipient.ts';

/**
 * The recipients `caller` may see (ADR 0021): all of them when authentication is off, those it
 * created for a service, only its own for a recipient-scoped token. Everything a caller may not
 * see answers exactly like a recipient that does not exist.
 */
export function visibleRecipients(db: DbOrTx, caller: Caller) {
  const recipients = db.selectFrom('recipients');
  switch (caller.kind) {
    case 'anyone':
      return recipients;
    case 'service':
      return recipients.where('created_by', '=', caller.sub);
    case 'recipient':
      return recipients.where('id', '=', caller.recipientId);
  }
}

export const recipientNotFound = (id: string) => notFound('RECIPIENT_NOT_FOUND', `recipient ${id} does not exist`);

/** Throws RECIPIENT_NOT_FOUND unless `caller` may see recipient `id`. */
export async function requireVisibleRecipient(db: DbOrTx, caller: Caller, id: string): Promise<void> {
  const row = await visibleRecipients(db, caller).select('id').where('id', '=', id).executeTakeFirst();
  if (!row) throw recipientNotFound(id);
}

export async function getRecipient(deps: Pick<Deps, 'db'>, input: { id: string; caller: Caller }): Promise<RecipientView> {
  const row = await visibleRecipients(deps.db, input.caller)
    .select(['id', 'channels', 'locale', 'timezone', 'created_at', 'updated_at'])
    .where('id', '=', input.id)
    .executeTakeFirst();
  if (!row) throw recipientNotFound(input.id);
  return recipientView(row);
}
