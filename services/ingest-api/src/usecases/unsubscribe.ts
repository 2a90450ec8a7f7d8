import { DEFAULT_QUIET_HOURS, UNSUBSCRIBE_KIND, verifyUnsubscribeToken } from '@hub/domain';
import { recordAudit } from '@hub/db';
import { AppError, badRequest, notFound, unauthorized } from '@hub/http';
import type { Deps } from '../deps.ts';

/**
 * Checks a one-click unsubscribe link (signature, then age) and names its recipient. A link of
 * another secret or with an edited payload is 401; one past UNSUBSCRIBE_LINK_MAX_AGE_DAYS is 401
 * too (the recipient can still opt out through the app); garbage is 400. Nothing is read or
 * written before the signature holds.
 */
export function checkUnsubscribeLink(deps: Pick<Deps, 'config' | 'clock'>, token: string): { recipientId: string } {
  const secret = deps.config.UNSUBSCRIBE_SIGNING_SECRET;
  if (!secret) throw unauthorized('UNSUBSCRIBE_DISABLED', 'one-click unsubscribe is not configured on this hub');
  const check = verifyUnsubscribeToken(secret, token, { now: deps.clock(), maxAgeDays: deps.config.UNSUBSCRIBE_LINK_MAX_AGE_DAYS });
  if (check.ok) return { recipientId: check.recipientId };
  if (check.reason === 'malformed') {
    throw badRequest('not an unsubscribe link', { errors: [{ field: 'params.token', message: 'malformed' }] });
  }
  if (check.reason === 'expired') throw unauthorized('UNSUBSCRIBE_LINK_EXPIRED', 'this unsubscribe link has expired');
  throw unauthorized('INVALID_UNSUBSCRIBE_LINK', 'this unsubscribe link is not valid');
}

export interface UnsubscribeResult {
  kind: typeof UNSUBSCRIBE_KIND;
  allowed: false;
  /** False when the recipient had opted out already (nothing was written). */
  changed: boolean;
}

/**
 * POST /unsubscribe/{token} (RFC 8058 one-click): opts the link's recipient out of MARKETING,
 * keeping every other preference, and audits it in the same transaction. Repeating it changes
 * nothing more (mail clients may post twice).
 */
export async function unsubscribe(deps: Pick<Deps, 'db' | 'clock' | 'config'>, input: { token: string }): Promise<UnsubscribeResult> {
  const { recipientId } = checkUnsubscribeLink(deps, input.token);
  return deps.db.transaction().execute(async (tx) => {
    // Locked like a preferences update: concurrent partial updates of one recipient serialise.
    const recipient = await tx.selectFrom('recipients').select('id').where('id', '=', recipientId).forUpdate().executeTakeFirst();
    if (!recipient) throw notFound('RECIPIENT_NOT_FOUND', 'the recipient of this link no longer exists');
    const current = await tx.selectFrom('recipient_preferences').selectAll().where('recipient_id', '=', recipientId).executeTakeFirst();
    if (current?.kinds[UNSUBSCRIBE_KIND]?.allowed === false) return { kind: UNSUBSCRIBE_KIND, allowed: false, changed: false };
    const kinds = { ...current?.kinds, [UNSUBSCRIBE_KIND]: { ...current?.kinds[UNSUBSCRIBE_KIND], allowed: false } };
    const now = deps.clock();
    await tx
      .insertInto('recipient_preferences')
      .values({
        recipient_id: recipientId,
        quiet_hours_enabled: true,
        quiet_start: DEFAULT_QUIET_HOURS.start,
        quiet_end: DEFAULT_QUIET_HOURS.end,
        timezone: null,
        kinds,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('recipient_id').doUpdateSet({ kinds, updated_at: now }))
      .execute();
    await recordAudit(tx, {
      actor: 'unsubscribe-link',
      action: 'RECIPIENT_UNSUBSCRIBED',
      targetType: 'recipient',
      targetId: recipientId,
      details: { kind: UNSUBSCRIBE_KIND, via: 'one-click' },
    });
    return { kind: UNSUBSCRIBE_KIND, allowed: false, changed: true };
  });
}

export const invalidOneClickBody = () =>
  new AppError({
    code: 'BAD_REQUEST',
    status: 400,
    message: 'a one-click unsubscribe posts List-Unsubscribe=One-Click (RFC 8058)',
    details: { errors: [{ field: 'body', message: 'must be List-Unsubscribe=One-Click' }] },
  });
