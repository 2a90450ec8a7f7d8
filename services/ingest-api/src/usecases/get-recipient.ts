import { notFound } from '@hub/http';
import type { Deps } from '../deps.ts';
import { recipientView, type RecipientView } from './put-recipient.ts';

export async function getRecipient(deps: Pick<Deps, 'db'>, input: { id: string }): Promise<RecipientView> {
  const row = await deps.db
    .selectFrom('recipients')
    .select(['id', 'channels', 'locale', 'timezone', 'created_at', 'updated_at'])
    .where('id', '=', input.id)
    .executeTakeFirst();
  if (!row) throw notFound('RECIPIENT_NOT_FOUND', `recipient ${input.id} does not exist`);
  return recipientView(row);
}
