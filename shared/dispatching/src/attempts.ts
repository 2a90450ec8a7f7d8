import { sql } from 'kysely';
import {
  failureReason,
  retryBackoffMs,
  type AttemptStatus,
  type BackoffScale,
  type Channel,
  type ErrorClass,
} from '@hub/domain';
import { insertOutboxRows, newId, type Db, type OutboxMessage, type Tx } from '@hub/db';
import { deliveryRequestMessage, makeEvent, type AlertFired, type Topics, type VendorResult } from '@hub/messaging';

/** An attempt this worker holds in DISPATCHING (what a claim returns). */
export interface ClaimedAttempt {
  id: string;
  notification_id: string;
  recipient_id: string;
  channel: Channel;
  address: string;
  device_token_id: string | null;
  priority: boolean;
  retry_count: number;
  max_retry: number;
  fallback_of: string | null;
  rendered_title: string;
  rendered_body: string;
}

export type DispatchOutcome =
  | { kind: 'succeeded'; vendorMessageId: string }
  | { kind: 'failed'; errorClass: ErrorClass; detail: string };

export interface OutcomeContext {
  topics: Topics;
  now: Date;
  backoff: BackoffScale;
  random?: () => number;
}

const claimedColumns = [
  'a.id',
  'a.notification_id',
  'n.recipient_id',
  'a.channel',
  'a.address',
  'a.device_token_id',
  'a.priority',
  'a.retry_count',
  'a.max_retry',
  'a.fallback_of',
  'a.rendered_title',
  'a.rendered_body',
] as const;

/**
 * PENDING → DISPATCHING, only if the attempt is still PENDING at the retry count the message was
 * written for. A duplicate or stale message (already dispatched, retried since, replayed) matches
 * no row and gets `undefined`: the caller does nothing.
 */
export async function claimAttempt(
  db: Db,
  input: { attemptId: string; retryCount: number; leaseMs: number; now: Date },
): Promise<ClaimedAttempt | undefined> {
  return db
    .updateTable('delivery_attempts as a')
    .from('notifications as n')
    .set({
      status: 'DISPATCHING',
      lease_expires_at: new Date(input.now.getTime() + input.leaseMs),
      dispatched_at: input.now,
      updated_at: input.now,
    })
    .whereRef('n.id', '=', 'a.notification_id')
    .where('a.id', '=', input.attemptId)
    .where('a.status', '=', 'PENDING')
    .where('a.retry_count', '=', input.retryCount)
    .returning(claimedColumns)
    .executeTakeFirst();
}

/**
 * claimAttempt for many messages in one statement. A message for an attempt another message of
 * the same batch already claimed gets `undefined`, as it would one statement later.
 */
export async function claimAttempts(
  db: Db,
  items: { attemptId: string; retryCount: number }[],
  input: { leaseMs: number; now: Date },
): Promise<(ClaimedAttempt | undefined)[]> {
  const { rows } = await sql<ClaimedAttempt>`
    update delivery_attempts a
    set status = 'DISPATCHING', lease_expires_at = ${new Date(input.now.getTime() + input.leaseMs)},
        dispatched_at = ${input.now}, updated_at = ${input.now}
    from notifications n,
         unnest(${items.map((i) => i.attemptId)}::uuid[], ${items.map((i) => i.retryCount)}::int[]) as v(id, retry_count)
    where a.id = v.id and a.retry_count = v.retry_count and a.status = 'PENDING' and n.id = a.notification_id
    returning a.id, a.notification_id, n.recipient_id, a.channel, a.address, a.device_token_id, a.priority,
              a.retry_count, a.max_retry, a.fallback_of, a.rendered_title, a.rendered_body`.execute(db);
  const claimed = new Map(rows.map((r) => [r.id, r]));
  return items.map((item) => {
    const row = claimed.get(item.attemptId);
    if (row?.retry_count !== item.retryCount) return undefined;
    claimed.delete(item.attemptId);
    return row;
  });
}

/**
 * recordOutcome for many dispatches in one transaction: successes (the common case) set-based,
 * failures one by one. Same conditions and events as recordOutcome; null where the attempt was
 * no longer ours. Successes leave their notifications to the caller, who completes them after
 * the commit (completeNotifications): the four channels' dispatchers finish a notification's
 * attempts at about the same moment, and locking it here would hold each outcome transaction
 * open behind another's (ADR 0016). Failures, rare, complete theirs here like recordOutcome.
 */
export async function recordOutcomes(
  tx: Tx,
  ctx: OutcomeContext,
  items: { attempt: ClaimedAttempt; outcome: DispatchOutcome }[],
): Promise<(AttemptStatus | null)[]> {
  const results = new Array<AttemptStatus | null>(items.length).fill(null);
  const successes: SucceededDispatch[] = [];
  const indexes: number[] = [];
  for (const [index, item] of items.entries()) {
    if (item.outcome.kind === 'succeeded') {
      successes.push({ attempt: item.attempt, vendorMessageId: item.outcome.vendorMessageId });
      indexes.push(index);
    }
  }
  (await recordSuccesses(tx, ctx, successes)).forEach((status, i) => (results[indexes[i]!] = status));
  for (const [index, item] of items.entries()) {
    if (item.outcome.kind === 'failed') results[index] = await recordOutcome(tx, ctx, item.attempt, item.outcome);
  }
  return results;
}

export interface SucceededDispatch {
  attempt: ClaimedAttempt;
  vendorMessageId: string;
}

/**
 * DISPATCHING → SUCCEEDED for many attempts with their vendor-result events, in one statement:
 * atomic on its own, so a batch of successes needs no transaction around it (no BEGIN and
 * COMMIT round trips). An event is written only for an attempt the update changed; the status
 * is null where the attempt was no longer ours.
 */
export async function recordSuccesses(db: Db, ctx: OutcomeContext, successes: SucceededDispatch[]): Promise<('SUCCEEDED' | null)[]> {
  if (successes.length === 0) return [];
  const events = successes.map((s) => {
    const message = vendorResult(ctx, s.attempt, 'SUCCEEDED', s.attempt.retry_count, s.vendorMessageId, null);
    return { id: newId(), key: message.key, payload: JSON.stringify(message.payload) };
  });
  const { rows } = await sql<{ id: string }>`
    with updated as (
      update delivery_attempts a
      set status = 'SUCCEEDED', vendor_message_id = v.vendor_message_id, failure_reason = null,
          lease_expires_at = null, next_attempt_at = null, completed_at = ${ctx.now}, updated_at = ${ctx.now}
      from unnest(${successes.map((s) => s.attempt.id)}::uuid[], ${successes.map((s) => s.attempt.retry_count)}::int[],
                  ${successes.map((s) => s.vendorMessageId)}::text[]) as v(id, retry_count, vendor_message_id)
      where a.id = v.id and a.status = 'DISPATCHING' and a.retry_count = v.retry_count
      returning a.id),
    announced as (
      insert into outbox (id, topic, message_key, payload)
      select e.id, ${ctx.topics.vendorResult}, e.message_key, e.payload::jsonb
      from unnest(${events.map((e) => e.id)}::uuid[], ${successes.map((s) => s.attempt.id)}::uuid[],
                  ${events.map((e) => e.key)}::text[], ${events.map((e) => e.payload)}::text[])
           as e(id, attempt_id, message_key, payload)
      where e.attempt_id in (select id from updated))
    select id from updated`.execute(db);
  const updated = new Set(rows.map((r) => r.id));
  return successes.map((s) => (updated.has(s.attempt.id) ? 'SUCCEEDED' : null));
}

/**
 * Records a dispatch's outcome with the events announcing it, in the caller's transaction:
 * SUCCEEDED; PENDING with retry_count + 1 and a backed-off next_attempt_at while dispatches
 * remain; EXHAUSTED after the last one, or at once for a permanent or invalid-recipient error.
 * Conditional on the attempt still being DISPATCHING at the claimed retry count: returns null
 * when it is not (its lease expired and the relay recovered it), and writes nothing.
 */
export async function recordOutcome(
  tx: Tx,
  ctx: OutcomeContext,
  attempt: ClaimedAttempt,
  outcome: DispatchOutcome,
): Promise<AttemptStatus | null> {
  const { now } = ctx;
  if (outcome.kind === 'succeeded') {
    const [status] = await recordSuccesses(tx, ctx, [{ attempt, vendorMessageId: outcome.vendorMessageId }]);
    if (!status) return null;
    await completeNotifications(tx, [attempt.notification_id], now);
    return status;
  }
  const base = tx
    .updateTable('delivery_attempts')
    .where('id', '=', attempt.id)
    .where('status', '=', 'DISPATCHING')
    .where('retry_count', '=', attempt.retry_count);

  const failures = attempt.retry_count + 1;
  const reason = failureReason(outcome.errorClass, outcome.detail);
  const exhausted = outcome.errorClass !== 'transient' || failures >= attempt.max_retry;
  if (!exhausted) {
    const row = await base
      .set({
        status: 'PENDING',
        retry_count: failures,
        next_attempt_at: new Date(now.getTime() + retryBackoffMs(failures, ctx.random, 0.2, ctx.backoff)),
        failure_reason: reason,
        lease_expires_at: null,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirst();
    return row ? 'PENDING' : null;
  }

  const row = await base
    .set({
      status: 'EXHAUSTED',
      retry_count: failures,
      next_attempt_at: null,
      failure_reason: reason,
      lease_expires_at: null,
      completed_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirst();
  if (!row) return null;
  await insertOutboxRows(tx, [
    vendorResult(ctx, attempt, 'EXHAUSTED', failures, null, reason),
    {
      topic: ctx.topics.alertFired,
      key: attempt.notification_id,
      payload: makeEvent<AlertFired>(
        'alert.fired',
        {
          alertType: 'NOTIFY_VENDOR_EXHAUSTED',
          attemptId: attempt.id,
          notificationId: attempt.notification_id,
          channel: attempt.channel,
          failureReason: reason,
        },
        now,
      ),
    },
  ]);
  if (attempt.channel === 'PUSH' && outcome.errorClass === 'invalid_recipient') {
    await disableDeviceToken(tx, attempt, reason, now);
  }
  if (attempt.channel === 'KAKAO_ALIMTALK' && attempt.fallback_of === null) {
    await createSmsFallback(tx, ctx, attempt);
  }
  await completeNotifications(tx, [attempt.notification_id], now);
  return 'EXHAUSTED';
}

function vendorResult(
  ctx: OutcomeContext,
  attempt: ClaimedAttempt,
  outcome: VendorResult['outcome'],
  retryCount: number,
  vendorMessageId: string | null,
  reason: string | null,
): OutboxMessage {
  return {
    topic: ctx.topics.vendorResult,
    key: attempt.notification_id,
    payload: makeEvent<VendorResult>(
      'notify.vendor.result',
      {
        attemptId: attempt.id,
        notificationId: attempt.notification_id,
        channel: attempt.channel,
        outcome,
        retryCount,
        vendorMessageId,
        failureReason: reason,
      },
      ctx.now,
    ),
  };
}

/** A token the push service called unregistered is never used again (SPEC §2). */
async function disableDeviceToken(tx: Tx, attempt: ClaimedAttempt, reason: string, now: Date): Promise<void> {
  const update = tx.updateTable('device_tokens').set({ active: false, disabled_reason: reason, updated_at: now });
  if (attempt.device_token_id) await update.where('id', '=', attempt.device_token_id).execute();
  else await update.where('token', '=', attempt.address).execute();
}

/**
 * Kakao's "substitute send": a KAKAO_ALIMTALK attempt that ended EXHAUSTED becomes an SMS
 * attempt to the recipient's SMS address, if the directory has one and no fallback exists yet.
 */
async function createSmsFallback(tx: Tx, ctx: OutcomeContext, attempt: ClaimedAttempt): Promise<void> {
  const recipient = await tx
    .selectFrom('recipients')
    .select('channels')
    .where('id', '=', attempt.recipient_id)
    .executeTakeFirst();
  const sms = recipient?.channels.find((c) => c.type === 'SMS')?.address;
  if (!sms) return;
  const existing = await tx
    .selectFrom('delivery_attempts')
    .select('id')
    .where('fallback_of', '=', attempt.id)
    .executeTakeFirst();
  if (existing) return;
  const id = newId();
  await tx
    .insertInto('delivery_attempts')
    .values({
      id,
      notification_id: attempt.notification_id,
      channel: 'SMS',
      address: sms,
      status: 'PENDING',
      priority: attempt.priority,
      rendered_title: attempt.rendered_title,
      rendered_body: attempt.rendered_body,
      sms_segments: Math.max(1, Math.ceil(Buffer.byteLength(attempt.rendered_body, 'utf8') / 90)),
      fallback_of: attempt.id,
      created_at: ctx.now,
      updated_at: ctx.now,
    })
    .execute();
  await insertOutboxRows(tx, [
    deliveryRequestMessage(
      ctx.topics,
      { attemptId: id, notificationId: attempt.notification_id, recipientId: attempt.recipient_id, channel: 'SMS', priority: attempt.priority, retryCount: 0 },
      ctx.now,
    ),
  ]);
}

/**
 * FANNED_OUT (or SCHEDULED) → COMPLETED for those of the notifications whose attempts are all
 * final: the SQL function complete_notifications (migration 0007) locks the open ones, then
 * checks their attempts in a query of its own, so two attempts finishing at once cannot both
 * see the other as unfinished and leave the notification open forever. In the caller's
 * transaction (`tx`), or, with `db`, as one statement after the outcomes committed (ADR 0016):
 * the dispatchers' successes, and a duplicate message that finds its attempt already final
 * (the process may have died between the outcome's commit and this step).
 */
export async function completeNotifications(db: Db, notificationIds: string[], now: Date): Promise<void> {
  if (notificationIds.length === 0) return;
  await sql`select complete_notifications(${notificationIds}::uuid[], ${now})`.execute(db);
}

/** Attempts stuck in DISPATCHING past their lease (their worker died), locked for recovery. */
export async function lockExpiredLeases(tx: Tx, now: Date, limit: number): Promise<ClaimedAttempt[]> {
  return tx
    .selectFrom('delivery_attempts as a')
    .innerJoin('notifications as n', 'n.id', 'a.notification_id')
    .select(claimedColumns)
    .where('a.status', '=', 'DISPATCHING')
    .where('a.lease_expires_at', '<', now)
    .orderBy('a.lease_expires_at')
    .limit(limit)
    .forUpdate('a')
    .skipLocked()
    .execute();
}
