import type { DbOrTx } from '@hub/db';
import { maskAddress } from '@hub/domain';
import { notFound } from '@hub/http';
import type { Caller } from '../auth.ts';
import type { Deps } from '../deps.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * The notifications `caller` may see (ADR 0021): all of them when authentication is off, those
 * it sent for a service, those addressed to it for a recipient-scoped token. Anything else
 * answers exactly like a notification that does not exist.
 */
export function visibleNotifications(db: DbOrTx, caller: Caller) {
  const notifications = db.selectFrom('notifications');
  switch (caller.kind) {
    case 'anyone':
      return notifications;
    case 'service':
      return notifications.where('created_by', '=', caller.sub);
    case 'recipient':
      return notifications.where('recipient_id', '=', caller.recipientId);
  }
}

/** A notification with its attempts; addresses are masked (SPEC §2). */
export async function getNotification(deps: Pick<Deps, 'db'>, input: { id: string; caller: Caller }) {
  const id = input.id.toLowerCase();
  const n = await visibleNotifications(deps.db, input.caller).selectAll().where('id', '=', id).executeTakeFirst();
  if (!n) throw notFound('NOT_FOUND', `notification ${id} does not exist`);
  const attempts = await deps.db.selectFrom('delivery_attempts').selectAll().where('notification_id', '=', id).orderBy('id').execute();
  return {
    notificationId: n.id,
    recipientId: n.recipient_id,
    kind: n.kind,
    status: n.status,
    title: n.title,
    body: n.body,
    templateKey: n.template_key,
    suppressionReason: n.suppression_reason,
    scheduledFor: iso(n.scheduled_for),
    createdAt: n.created_at.toISOString(),
    completedAt: iso(n.completed_at),
    attempts: attempts.map((a) => ({
      attemptId: a.id,
      channel: a.channel,
      address: maskAddress(a.channel, a.address),
      status: a.status,
      retryCount: a.retry_count,
      smsSegments: a.sms_segments,
      vendorMessageId: a.vendor_message_id,
      failureReason: a.failure_reason,
      createdAt: a.created_at.toISOString(),
      updatedAt: a.updated_at.toISOString(),
      dispatchedAt: iso(a.dispatched_at),
      completedAt: iso(a.completed_at),
    })),
  };
}
