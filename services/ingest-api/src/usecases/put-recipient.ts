import { sql } from 'kysely';
import type { RecipientChannel } from '@hub/db';
import { DEFAULT_TIMEZONE } from '@hub/domain';
import { AppError, notFound } from '@hub/http';
import type { Caller } from '../auth.ts';
import type { Deps } from '../deps.ts';

export interface RecipientView {
  id: string;
  channels: RecipientChannel[];
  locale: string;
  timezone: string;
  createdAt: string;
  updatedAt: string;
}

export function recipientView(row: { id: string; channels: RecipientChannel[]; locale: string; timezone: string; created_at: Date; updated_at: Date }): RecipientView {
  return {
    id: row.id,
    channels: row.channels,
    locale: row.locale,
    timezone: row.timezone,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * Creates or replaces a recipient's directory entry; `created` tells 201 from 200. With
 * authentication on (ADR 0021) a service creates entries it then owns and replaces only those: an
 * id another caller holds is refused (403: ids are one namespace, so that it exists cannot be
 * hidden from the caller who asks to create it). A recipient-scoped token replaces its own entry
 * and never creates one: entries are created by the services that send to them.
 */
export async function putRecipient(
  deps: Pick<Deps, 'db' | 'clock'>,
  input: { id: string; channels: RecipientChannel[]; locale?: string | undefined; timezone?: string | undefined; caller: Caller },
): Promise<{ created: boolean; recipient: RecipientView }> {
  const { caller } = input;
  const now = deps.clock();
  const locale = input.locale ?? 'ko-kr';
  const timezone = input.timezone ?? DEFAULT_TIMEZONE;
  const columns = ['id', 'channels', 'locale', 'timezone', 'created_at', 'updated_at'] as const;
  if (caller.kind === 'recipient') {
    const row =
      caller.recipientId === input.id
        ? await deps.db.updateTable('recipients').set({ channels: input.channels, locale, timezone, updated_at: now }).where('id', '=', input.id).returning(columns).executeTakeFirst()
        : undefined;
    if (!row) throw notFound('RECIPIENT_NOT_FOUND', `recipient ${input.id} does not exist`);
    return { created: false, recipient: recipientView(row) };
  }
  const owner = caller.kind === 'service' ? caller.sub : null;
  const row = await deps.db
    .insertInto('recipients')
    .values({ id: input.id, channels: input.channels, locale, timezone, created_by: owner, created_at: now, updated_at: now })
    .onConflict((oc) => {
      const replace = oc.column('id').doUpdateSet({ channels: input.channels, locale, timezone, updated_at: now });
      // The owner never changes; a service replaces only what it created.
      return owner === null ? replace : replace.where('recipients.created_by', '=', owner);
    })
    // xmax = 0 only on a freshly inserted row: tells "created" from "replaced" in one round trip.
    .returning([...columns, sql<boolean>`xmax = 0`.as('inserted')])
    .executeTakeFirst();
  if (!row) throw new AppError({ code: 'FORBIDDEN', status: 403, message: `recipient id ${input.id} belongs to another caller` });
  return { created: row.inserted, recipient: recipientView(row) };
}
