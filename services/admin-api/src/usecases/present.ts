import { errorClassOf, maskAddress } from '@hub/domain';
import type { Topics } from '@hub/messaging';
import type { DlqSummaryRow, findAttemptDetail } from '../repositories/attempts.ts';

// How attempts leave the database: the address is always masked (SPEC §2).

export function presentSummary(row: DlqSummaryRow) {
  return {
    attemptId: row.id,
    notificationId: row.notification_id,
    channel: row.channel,
    priority: row.priority,
    address: maskAddress(row.channel, row.address),
    status: row.status,
    retryCount: row.retry_count,
    failureReason: row.failure_reason,
    errorClass: errorClassOf(row.failure_reason),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

type DetailRow = NonNullable<Awaited<ReturnType<typeof findAttemptDetail>>>;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function presentDetail(row: DetailRow, topics: Topics) {
  return {
    ...presentSummary(row),
    maxRetry: row.max_retry,
    nextAttemptAt: iso(row.next_attempt_at),
    dispatchedAt: iso(row.dispatched_at),
    completedAt: iso(row.completed_at),
    vendorMessageId: row.vendor_message_id,
    renderedTitle: row.rendered_title,
    renderedBody: row.rendered_body,
    smsSegments: row.sms_segments,
    fallbackOf: row.fallback_of,
    // Where a replay of this attempt is published (the dispatcher of that lane consumes it).
    expectedTopic: topics.delivery(row.channel, row.priority),
  };
}
