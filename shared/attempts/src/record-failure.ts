import { decideFailedDispatch, retryBackoffMs, type AttemptStatus, type ErrorClass } from '@hub/domain';
import { insertOutboxRows, type Tx } from '@hub/db';
import type { ClaimedAttempt, OutcomeContext } from './claimed.ts';
import { completeNotifications } from './complete.ts';
import { newAttemptRow } from './create.ts';
import { deliveryRequestMessage, exhaustedAlertMessage, vendorResultMessage } from './events.ts';
import { endsIn, startsFrom } from './guard.ts';

/**
 * A failed dispatch, in the caller's transaction: PENDING with retry_count + 1 and a backed-off
 * next_attempt_at while dispatches remain (the relay re-drives it then); EXHAUSTED after the last
 * one, or at once for a permanent or invalid-recipient error, with its vendor-result and alert
 * events, the channel's consequences (a dead push token disabled, Kakao's SMS fallback) and the
 * notification completed if that was its last open attempt. Conditional on the attempt still
 * being DISPATCHING at the claimed retry count: null when it is not (its lease expired and the
 * relay recovered it), and nothing is written.
 */
export async function recordFailure(
  tx: Tx,
  ctx: OutcomeContext,
  attempt: ClaimedAttempt,
  failure: { errorClass: ErrorClass; detail: string },
): Promise<AttemptStatus | null> {
  const { now } = ctx;
  const decision = decideFailedDispatch(
    { channel: attempt.channel, retryCount: attempt.retry_count, maxRetry: attempt.max_retry, fallbackOf: attempt.fallback_of },
    failure,
  );
  const update = tx
    .updateTable('delivery_attempts')
    .where('id', '=', attempt.id)
    .where('retry_count', '=', attempt.retry_count)
    .where(startsFrom(decision.step))
    .returning('id');

  if (decision.step === 'retry') {
    const row = await update
      .set({
        status: endsIn('retry'),
        retry_count: decision.retryCount,
        next_attempt_at: new Date(now.getTime() + retryBackoffMs(decision.retryCount, ctx.random, 0.2, ctx.backoff)),
        failure_reason: decision.reason,
        lease_expires_at: null,
        updated_at: now,
      })
      .executeTakeFirst();
    return row ? endsIn('retry') : null;
  }

  const row = await update
    .set({
      status: endsIn('exhaust'),
      retry_count: decision.retryCount,
      next_attempt_at: null,
      failure_reason: decision.reason,
      lease_expires_at: null,
      completed_at: now,
      updated_at: now,
    })
    .executeTakeFirst();
  if (!row) return null;
  await insertOutboxRows(tx, [
    vendorResultMessage(ctx.topics, attempt, { outcome: 'EXHAUSTED', retryCount: decision.retryCount, vendorMessageId: null, failureReason: decision.reason }, now),
    exhaustedAlertMessage(ctx.topics, attempt, decision.reason, now),
  ]);
  if (decision.disableDeviceToken) await disableDeviceToken(tx, attempt, decision.reason, now);
  if (decision.smsFallback) await createSmsFallback(tx, ctx, attempt);
  await completeNotifications(tx, [attempt.notification_id], now);
  return endsIn('exhaust');
}

/** A token the push service called unregistered is never used again (SPEC §2). */
async function disableDeviceToken(tx: Tx, attempt: ClaimedAttempt, reason: string, now: Date): Promise<void> {
  const update = tx.updateTable('device_tokens').set({ active: false, disabled_reason: reason, updated_at: now });
  if (attempt.device_token_id) await update.where('id', '=', attempt.device_token_id).execute();
  else await update.where('token', '=', attempt.address).execute();
}

/**
 * Kakao's "substitute send" (SPEC §4): an AlimTalk attempt the vendor refused for good becomes
 * an SMS attempt to the recipient's SMS address, unless the directory has none, the notification
 * already has an SMS attempt (the recipient would get the message twice), the kind's preferred
 * channels leave SMS out, or a fallback exists already (its SMS segments counted as every new
 * attempt's are).
 */
async function createSmsFallback(tx: Tx, ctx: OutcomeContext, attempt: ClaimedAttempt): Promise<void> {
  const context = await tx
    .selectFrom('notifications as n')
    .innerJoin('recipients as r', 'r.id', 'n.recipient_id')
    .leftJoin('recipient_preferences as p', 'p.recipient_id', 'r.id')
    .select(['n.kind', 'r.channels', 'p.kinds'])
    .select((eb) =>
      eb
        .exists(eb.selectFrom('delivery_attempts as s').select('s.id').whereRef('s.notification_id', '=', 'n.id').where('s.channel', '=', 'SMS'))
        .as('has_sms'),
    )
    .where('n.id', '=', attempt.notification_id)
    .executeTakeFirst();
  const sms = context?.channels.find((c) => c.type === 'SMS')?.address;
  if (!context || !sms || context.has_sms) return;
  const preferred = context.kinds?.[context.kind]?.preferredChannels ?? [];
  if (preferred.length > 0 && !preferred.includes('SMS')) return;
  const fallback = newAttemptRow({
    notificationId: attempt.notification_id,
    channel: 'SMS',
    address: sms,
    deviceTokenId: null,
    priority: attempt.priority,
    title: attempt.rendered_title,
    body: attempt.rendered_body,
    now: ctx.now,
    fallbackOf: attempt.id,
  });
  await tx.insertInto('delivery_attempts').values(fallback).execute();
  await insertOutboxRows(tx, [
    deliveryRequestMessage(
      ctx.topics,
      { attemptId: fallback.id, notificationId: attempt.notification_id, recipientId: attempt.recipient_id, channel: 'SMS', priority: attempt.priority, retryCount: 0 },
      ctx.now,
    ),
  ]);
}
