import { DEFAULT_QUIET_HOURS, KINDS, MANDATORY_KINDS, effectivePreferences, minutesOfDay, type Kind } from '@hub/domain';
import type { DbOrTx, RecipientPreferences } from '@hub/db';
import { badRequest } from '@hub/http';
import type { Caller } from '../auth.ts';
import type { Deps } from '../deps.ts';
import type { PutPreferencesBody } from '../schemas.ts';
import { recipientNotFound, visibleRecipients } from './get-recipient.ts';

export interface PreferencesView {
  recipientId: string;
  kinds: Record<Kind, { allowed: boolean; mandatory: boolean; preferredChannels: string[] }>;
  quietHours: { enabled: boolean; start: string; end: string };
  timezone: string;
}

function view(recipientId: string, row: Pick<RecipientPreferences, 'quiet_hours_enabled' | 'quiet_start' | 'quiet_end' | 'timezone' | 'kinds'> | undefined, recipientTimezone: string): PreferencesView {
  const effective = effectivePreferences(
    row ? { quietHoursEnabled: row.quiet_hours_enabled, quietStart: row.quiet_start, quietEnd: row.quiet_end, timezone: row.timezone, kinds: row.kinds } : null,
    recipientTimezone,
  );
  const kinds = {} as PreferencesView['kinds'];
  for (const kind of KINDS) kinds[kind] = { ...effective.kinds[kind], mandatory: MANDATORY_KINDS.has(kind) };
  return {
    recipientId,
    kinds,
    quietHours: {
      enabled: effective.quietHours !== null,
      start: row?.quiet_start ?? DEFAULT_QUIET_HOURS.start,
      end: row?.quiet_end ?? DEFAULT_QUIET_HOURS.end,
    },
    timezone: effective.timezone,
  };
}

/** A recipient the caller may not see has no preferences either (404, as if it did not exist). */
async function recipientTimezone(db: DbOrTx, caller: Caller, recipientId: string, lock: boolean): Promise<string> {
  let query = visibleRecipients(db, caller).select('timezone').where('id', '=', recipientId);
  // Serialises concurrent partial updates of one recipient's preferences.
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw recipientNotFound(recipientId);
  return row.timezone;
}

export async function getPreferences(deps: Pick<Deps, 'db'>, input: { recipientId: string; caller: Caller }): Promise<PreferencesView> {
  const timezone = await recipientTimezone(deps.db, input.caller, input.recipientId, false);
  const row = await deps.db.selectFrom('recipient_preferences').selectAll().where('recipient_id', '=', input.recipientId).executeTakeFirst();
  return view(input.recipientId, row, timezone);
}

/** Partial update: only the given fields change; returns the effective preferences. */
export async function updatePreferences(
  deps: Pick<Deps, 'db' | 'clock'>,
  input: { recipientId: string; change: PutPreferencesBody; caller: Caller },
): Promise<PreferencesView> {
  const { change } = input;
  if (change.kind !== undefined && change.allowed === false && MANDATORY_KINDS.has(change.kind)) {
    throw badRequest(`${change.kind} notifications are mandatory and cannot be opted out of`, {
      errors: [{ field: 'body.allowed', message: `${change.kind} is mandatory` }],
    });
  }
  return deps.db.transaction().execute(async (tx) => {
    const timezone = await recipientTimezone(tx, input.caller, input.recipientId, true);
    const current = await tx.selectFrom('recipient_preferences').selectAll().where('recipient_id', '=', input.recipientId).executeTakeFirst();
    const next = {
      quiet_hours_enabled: current?.quiet_hours_enabled ?? true,
      quiet_start: change.quietStart ?? current?.quiet_start ?? DEFAULT_QUIET_HOURS.start,
      quiet_end: change.quietEnd ?? current?.quiet_end ?? DEFAULT_QUIET_HOURS.end,
      timezone: change.timezone === undefined ? (current?.timezone ?? null) : change.timezone,
      kinds: { ...current?.kinds },
    };
    if (change.quietStart !== undefined || change.quietEnd !== undefined) next.quiet_hours_enabled = true;
    if (change.disableQuietHours !== undefined) next.quiet_hours_enabled = !change.disableQuietHours;
    if (minutesOfDay(next.quiet_start) === minutesOfDay(next.quiet_end)) {
      throw badRequest('quiet hours start and end must differ', { errors: [{ field: 'body.quietEnd', message: 'must differ from quietStart' }] });
    }
    if (change.kind !== undefined) {
      const entry = { ...next.kinds[change.kind] };
      if (change.allowed !== undefined) entry.allowed = change.allowed;
      if (change.preferredChannels !== undefined) entry.preferredChannels = [...new Set(change.preferredChannels)];
      next.kinds[change.kind] = entry;
    }
    const row = await tx
      .insertInto('recipient_preferences')
      .values({ recipient_id: input.recipientId, ...next, updated_at: deps.clock() })
      .onConflict((oc) => oc.column('recipient_id').doUpdateSet({ ...next, updated_at: deps.clock() }))
      .returningAll()
      .executeTakeFirstOrThrow();
    return view(input.recipientId, row, timezone);
  });
}
