import { sql } from 'kysely';
import type { RecipientChannel } from '@hub/db';
import type { Deps } from '../deps.ts';
import { DEFAULT_TIMEZONE } from '@hub/domain';

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

/** Creates or replaces a recipient's directory entry; `created` tells 201 from 200. */
export async function putRecipient(
  deps: Pick<Deps, 'db' | 'clock'>,
  input: { id: string; channels: RecipientChannel[]; locale?: string | undefined; timezone?: string | undefined },
): Promise<{ created: boolean; recipient: RecipientView }> {
  const now = deps.clock();
  const locale = input.locale ?? 'ko-kr';
  const timezone = input.timezone ?? DEFAULT_TIMEZONE;
  const row = await deps.db
    .insertInto('recipients')
    .values({ id: input.id, channels: input.channels, locale, timezone, created_at: now, updated_at: now })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({ channels: input.channels, locale, timezone, updated_at: now }),
    )
    // xmax = 0 only on a freshly inserted row: tells "created" from "replaced" in one round trip.
    .returning(['id', 'channels', 'locale', 'timezone', 'created_at', 'updated_at', sql<boolean>`xmax = 0`.as('inserted')])
    .executeTakeFirstOrThrow();
  return { created: row.inserted, recipient: recipientView(row) };
}
