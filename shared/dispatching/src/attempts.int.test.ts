import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestContext, pollUntil, seedNotification, type TestContext } from '@hub/testing';
import { claimAttempts, completeNotifications, recordOutcomes } from '@hub/attempts';
import { DeliveryStore } from './delivery-store.ts';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
});

afterAll(async () => {
  await ctx?.close();
});

const now = () => new Date();

const deliveryStore = () =>
  new DeliveryStore({
    db: ctx.database.db,
    topics: ctx.topics,
    clock: now,
    logger: ctx.logger,
    leaseMs: 60_000,
    backoff: { baseMs: 1_000, maxMs: 60_000 },
  });

describe('batched attempt writes', () => {
  it('claims each attempt once even when a batch carries its message twice, and ignores stale retry counts', async () => {
    const seeded = await seedNotification(ctx.database.db, ctx.topics, {
      deliveries: [
        { channel: 'EMAIL', address: 'a@example.com' },
        { channel: 'SMS', address: '+821012345678' },
      ],
    });
    const [email, sms] = seeded.attemptIds as [string, string];
    const claimed = await claimAttempts(
      ctx.database.db,
      [
        { attemptId: email, retryCount: 0 },
        { attemptId: email, retryCount: 0 },
        { attemptId: sms, retryCount: 3 },
      ],
      { leaseMs: 60_000, now: now() },
    );
    expect(claimed.map((c) => c?.id)).toEqual([email, undefined, undefined]);
    expect(claimed[0]).toMatchObject({ recipient_id: seeded.recipientId, channel: 'EMAIL', address: 'a@example.com' });
    const rows = await ctx.database.db.selectFrom('delivery_attempts').select(['id', 'status']).where('id', 'in', [email, sms]).execute();
    expect(Object.fromEntries(rows.map((r) => [r.id, r.status]))).toEqual({ [email]: 'DISPATCHING', [sms]: 'PENDING' });
  });

  it('records successes and failures of one batch in one transaction; the completion after the commit finds all final', async () => {
    const seeded = await seedNotification(ctx.database.db, ctx.topics, {
      deliveries: [
        { channel: 'EMAIL', address: 'b@example.com' },
        { channel: 'PUSH', address: 'token-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' },
        { channel: 'SMS', address: '+821099990000' },
      ],
    });
    const claimed = await claimAttempts(
      ctx.database.db,
      seeded.attemptIds.map((attemptId) => ({ attemptId, retryCount: 0 })),
      { leaseMs: 60_000, now: now() },
    );
    const [email, push, sms] = claimed as [NonNullable<(typeof claimed)[0]>, NonNullable<(typeof claimed)[0]>, NonNullable<(typeof claimed)[0]>];
    const statuses = await ctx.database.db.transaction().execute((tx) =>
      recordOutcomes(tx, { topics: ctx.topics, now: now(), backoff: { baseMs: 1_000, maxMs: 60_000 } }, [
        { attempt: email, outcome: { kind: 'succeeded', vendorMessageId: 'v-1' } },
        { attempt: push, outcome: { kind: 'failed', errorClass: 'permanent', detail: 'rejected' } },
        { attempt: sms, outcome: { kind: 'succeeded', vendorMessageId: 'v-2' } },
      ]),
    );
    expect(statuses).toEqual(['SUCCEEDED', 'EXHAUSTED', 'SUCCEEDED']);
    await completeNotifications(ctx.database.db, [seeded.notificationId], now());
    const notification = await ctx.database.db.selectFrom('notifications').select('status').where('id', '=', seeded.notificationId).executeTakeFirstOrThrow();
    expect(notification.status).toBe('COMPLETED');
    // Recording again (a retried transaction) changes nothing: the attempts are no longer DISPATCHING.
    const again = await ctx.database.db.transaction().execute((tx) =>
      recordOutcomes(tx, { topics: ctx.topics, now: now(), backoff: { baseMs: 1_000, maxMs: 60_000 } }, [
        { attempt: email, outcome: { kind: 'succeeded', vendorMessageId: 'v-3' } },
      ]),
    );
    expect(again).toEqual([null]);
    const results = await ctx.database.db.selectFrom('outbox').select('payload').where('topic', '=', ctx.topics.vendorResult).execute();
    expect(results.filter((r) => r.payload.attemptId === email.id)).toHaveLength(1);
  });

  it('counts the SMS segments of a Kakao fallback by the domain rule ingest uses (GSM-7 or UCS-2, as carriers do)', async () => {
    // 160 characters would be one GSM-7 part, but the Korean syllable makes the whole body
    // UCS-2: 67 characters per concatenated part, so three parts.
    const body = `${'a'.repeat(159)}가`;
    const seeded = await seedNotification(ctx.database.db, ctx.topics, {
      recipientChannels: [
        { type: 'KAKAO_ALIMTALK', address: '+821011110000' },
        { type: 'SMS', address: '+821022220000' },
      ],
      deliveries: [{ channel: 'KAKAO_ALIMTALK', address: '+821011110000' }],
    });
    await ctx.database.db.updateTable('delivery_attempts').set({ rendered_body: body }).where('id', '=', seeded.attemptIds[0]!).execute();
    const [kakao] = await claimAttempts(ctx.database.db, [{ attemptId: seeded.attemptIds[0]!, retryCount: 0 }], { leaseMs: 60_000, now: now() });
    const statuses = await ctx.database.db.transaction().execute((tx) =>
      recordOutcomes(tx, { topics: ctx.topics, now: now(), backoff: { baseMs: 1_000, maxMs: 60_000 } }, [
        { attempt: kakao!, outcome: { kind: 'failed', errorClass: 'permanent', detail: 'template mismatch' } },
      ]),
    );
    expect(statuses).toEqual(['EXHAUSTED']);
    const fallback = await ctx.database.db.selectFrom('delivery_attempts').selectAll().where('fallback_of', '=', kakao!.id).executeTakeFirstOrThrow();
    expect(fallback).toMatchObject({ channel: 'SMS', address: '+821022220000', rendered_body: body, sms_segments: 3 });
  });

  it('falls a Kakao attempt back to SMS only after a refusal for good, never beside an SMS attempt or against the preferred channels', async () => {
    const kakaoAndSms = [
      { type: 'KAKAO_ALIMTALK' as const, address: '+821033330000' },
      { type: 'SMS' as const, address: '+821044440000' },
    ];
    const cases = [
      { name: 'transient exhaustion', kakaoOnly: true, kind: 'SECURITY' as const, failure: { errorClass: 'transient' as const, detail: '503' }, retryCount: 7, prefer: null },
      { name: 'an SMS attempt already', kakaoOnly: false, kind: 'SECURITY' as const, failure: { errorClass: 'permanent' as const, detail: 'x' }, retryCount: 0, prefer: null },
      { name: 'SMS not preferred', kakaoOnly: true, kind: 'MARKETING' as const, failure: { errorClass: 'invalid_recipient' as const, detail: 'x' }, retryCount: 0, prefer: ['KAKAO_ALIMTALK' as const] },
      { name: 'a refusal for good', kakaoOnly: true, kind: 'SECURITY' as const, failure: { errorClass: 'permanent' as const, detail: 'x' }, retryCount: 0, prefer: null },
    ];
    const fallbacks: Record<string, number> = {};
    for (const c of cases) {
      const seeded = await seedNotification(ctx.database.db, ctx.topics, {
        kind: c.kind,
        recipientChannels: kakaoAndSms,
        deliveries: c.kakaoOnly ? [{ channel: 'KAKAO_ALIMTALK', address: '+821033330000' }] : [{ channel: 'KAKAO_ALIMTALK', address: '+821033330000' }, { channel: 'SMS', address: '+821044440000' }],
      });
      if (c.prefer) {
        await ctx.database.db.insertInto('recipient_preferences').values({ recipient_id: seeded.recipientId, kinds: { [c.kind]: { preferredChannels: c.prefer } } }).execute();
      }
      await ctx.database.db.updateTable('delivery_attempts').set({ retry_count: c.retryCount }).where('id', '=', seeded.attemptIds[0]!).execute();
      const [kakao] = await claimAttempts(ctx.database.db, [{ attemptId: seeded.attemptIds[0]!, retryCount: c.retryCount }], { leaseMs: 60_000, now: now() });
      const [status] = await ctx.database.db.transaction().execute((tx) =>
        recordOutcomes(tx, { topics: ctx.topics, now: now(), backoff: { baseMs: 1_000, maxMs: 60_000 } }, [{ attempt: kakao!, outcome: { kind: 'failed', ...c.failure } }]),
      );
      expect(status, c.name).toBe('EXHAUSTED');
      fallbacks[c.name] = (await ctx.database.db.selectFrom('delivery_attempts').select('id').where('fallback_of', '=', kakao!.id).execute()).length;
    }
    expect(fallbacks).toEqual({ 'transient exhaustion': 0, 'an SMS attempt already': 0, 'SMS not preferred': 0, 'a refusal for good': 1 });
  });

  it('records an outcome while another transaction holds its notification, and completes the notification once that one commits', async () => {
    const seeded = await seedNotification(ctx.database.db, ctx.topics, { deliveries: [{ channel: 'EMAIL', address: 'held@example.com' }] });
    const store = deliveryStore();
    const attempt = await store.claim({ attemptId: seeded.attemptIds[0]!, retryCount: 0 });
    expect(attempt).toBeDefined();
    // Another channel's dispatcher completing the same notification: it holds the row.
    const holder = await ctx.database.sql.reserve();
    try {
      await holder`begin`;
      await holder`select id from notifications where id = ${seeded.notificationId} for update`;
      expect(await store.record(attempt!, { kind: 'succeeded', vendorMessageId: 'held-1' })).toBe('SUCCEEDED');
      let completed = false;
      const completing = store.completeIfDone(seeded.notificationId).then(() => {
        completed = true;
      });
      await pollUntil('the completion waiting for the held row', async () => {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`.execute(ctx.database.db);
        return rows[0]!.n > 0;
      });
      const held = await ctx.database.db.selectFrom('notifications').select('status').where('id', '=', seeded.notificationId).executeTakeFirstOrThrow();
      expect(held.status).toBe('FANNED_OUT');
      expect(completed).toBe(false);
      await holder`commit`;
      await completing;
    } finally {
      await holder`rollback`.catch(() => {});
      holder.release();
    }
    const done = await ctx.database.db.selectFrom('notifications').select(['status', 'completed_at']).where('id', '=', seeded.notificationId).executeTakeFirstOrThrow();
    expect(done.status).toBe('COMPLETED');
    expect(done.completed_at).not.toBeNull();
  });

  it('completes a notification when a redelivered message finds its attempt already final', async () => {
    const seeded = await seedNotification(ctx.database.db, ctx.topics, { deliveries: [{ channel: 'SMS', address: '+821011112222' }] });
    // The outcome committed, then the process died before the completion step.
    await ctx.database.db
      .updateTable('delivery_attempts')
      .set({ status: 'SUCCEEDED', completed_at: now() })
      .where('id', '=', seeded.attemptIds[0]!)
      .execute();
    const store = deliveryStore();
    expect(await store.claim({ attemptId: seeded.attemptIds[0]!, retryCount: 0 })).toBeUndefined();
    await store.completeIfDone(seeded.notificationId);
    const row = await ctx.database.db.selectFrom('notifications').select('status').where('id', '=', seeded.notificationId).executeTakeFirstOrThrow();
    expect(row.status).toBe('COMPLETED');
  });
});
