import { maskAddress } from '@hub/domain';
import { notFound } from '@hub/http';
import type { Deps } from '../deps.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A notification with its attempts; addresses are masked (SPEC §2). */
export async function getNotification(deps: Pick<Deps, 'db'>, input: { id: string }) {
  const id = input.id.toLowerCase();
  const n = await deps.db.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirst();
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
