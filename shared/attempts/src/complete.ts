import { sql } from 'kysely';
import type { DbOrTx, Tx } from '@hub/db';

/**
 * FANNED_OUT or SCHEDULED → COMPLETED for those of the notifications whose attempts are all
 * final: the one completion rule, for every writer. The SQL function complete_notifications
 * (migration 0007) locks the open ones in id order, then checks their attempts in a query of
 * its own, so two attempts finishing at once cannot both see the other as unfinished and leave
 * the notification open forever. In the caller's transaction, after the attempt's own update
 * (lock order attempt → notification everywhere), or with `db` as one statement after the
 * outcomes committed (the dispatchers' successes, ADR 0016).
 */
export async function completeNotifications(db: DbOrTx, notificationIds: string[], now: Date): Promise<void> {
  if (notificationIds.length === 0) return;
  await sql`select complete_notifications(${notificationIds}::uuid[], ${now})`.execute(db);
}

/**
 * COMPLETED → FANNED_OUT, because one of its attempts is no longer final (a replay). Always
 * takes the notification's row lock, which orders this against a completion deciding on a
 * sibling attempt. Returns the recipient.
 */
export async function reopenNotification(tx: Tx, notificationId: string, now: Date): Promise<{ recipient_id: string }> {
  return tx
    .updateTable('notifications')
    .set((eb) => ({
      status: eb.case().when('status', '=', 'COMPLETED').then('FANNED_OUT' as const).else(eb.ref('status')).end(),
      completed_at: eb.case().when('status', '=', 'COMPLETED').then(null).else(eb.ref('completed_at')).end(),
      updated_at: eb.case().when('status', '=', 'COMPLETED').then(now).else(eb.ref('updated_at')).end(),
    }))
    .where('id', '=', notificationId)
    .returning('recipient_id')
    .executeTakeFirstOrThrow();
}
