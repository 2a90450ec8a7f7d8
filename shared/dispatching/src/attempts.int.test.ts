import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, seedNotification, type TestContext } from '@hub/testing';
import { claimAttempts, recordOutcomes } from './attempts.ts';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
});

afterAll(async () => {
  await ctx?.close();
});

const now = () => new Date();

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

  it('records successes and failures of one batch in one transaction and completes the notification once all are final', async () => {
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
});
