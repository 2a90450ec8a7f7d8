// The priority lane's retries have their own topic and consumer (topics.ts, dispatcher.ts): the
// retry of an OTP whose worker crashed must not wait behind the priority lane's backlog of first
// sends. Real Kafka, real Postgres, the real Dispatcher; only the vendor is a stand-in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, pollUntil, seedNotification, type TestContext } from '@hub/testing';
import { createProducer, deliveryRequestMessage, type Producer } from '@hub/messaging';
import { createMetricsRegistry } from '@hub/observability';
import { MockVendor } from '@hub/vendors';
import { Dispatcher } from './dispatcher.ts';
import { ProtectedVendor } from './vendor-call.ts';

let ctx: TestContext;
let producer: Producer;
let dispatcher: Dispatcher | undefined;

beforeAll(async () => {
  ctx = await createTestContext();
  producer = createProducer(ctx.kafka);
  await producer.connect();
});

afterAll(async () => {
  await dispatcher?.stop();
  await producer?.disconnect();
  await ctx?.close();
});

describe('the priority retry lane', () => {
  it("delivers an OTP's retry while the priority lane still has a backlog of first sends", async () => {
    // 40 first sends on the priority topic, one at a time at 100 ms each: a 4 s backlog.
    const backlog = await seedNotification(ctx.database.db, ctx.topics, {
      kind: 'SECURITY',
      deliveries: Array.from({ length: 40 }, (_, i) => ({ channel: 'PUSH' as const, address: `backlog-token-${i}-${'x'.repeat(24)}` })),
    });
    // An attempt whose first dispatch failed (its worker died): a retry, retry_count 1.
    const retried = await seedNotification(ctx.database.db, ctx.topics, {
      kind: 'SECURITY',
      deliveries: [{ channel: 'PUSH', address: `retried-token-${'y'.repeat(24)}` }],
    });
    const retryId = retried.attemptIds[0]!;
    await ctx.database.db.updateTable('delivery_attempts').set({ retry_count: 1 }).where('id', '=', retryId).execute();

    const publish = (attemptId: string, notificationId: string, recipientId: string, retryCount: number) => {
      const row = deliveryRequestMessage(ctx.topics, { attemptId, notificationId, recipientId, channel: 'PUSH', priority: true, retryCount }, new Date());
      return producer.send({ topic: row.topic, messages: [{ key: row.key, value: JSON.stringify(row.payload) }] });
    };
    for (const id of backlog.attemptIds) await publish(id, backlog.notificationId, backlog.recipientId, 0);
    await publish(retryId, retried.notificationId, retried.recipientId, 1);

    const vendor = new ProtectedVendor(new MockVendor({ channel: 'PUSH', latencyMs: 100, failureMix: { transient: 0, permanent: 0, invalid_recipient: 0 } }), {
      attempts: 1,
      timeoutMs: 2_000,
      breaker: { errorThresholdPercentage: 50, volumeThreshold: 1_000, resetTimeoutMs: 30_000 },
    });
    dispatcher = new Dispatcher({
      channel: 'PUSH',
      db: ctx.database.db,
      kafka: ctx.kafka,
      producer,
      topics: ctx.topics,
      vendor,
      logger: ctx.logger,
      registry: createMetricsRegistry('retry-lane'),
      bulkConcurrency: 1,
      priorityConcurrency: 1,
      retryConcurrency: 1,
      leaseMs: 10_000,
      backoff: { baseMs: 2_000, maxMs: 600_000 },
    });
    await dispatcher.start();

    const statusOf = async (ids: string[]) =>
      (await ctx.database.db.selectFrom('delivery_attempts').select(['id', 'status']).where('id', 'in', ids).execute()).filter((a) => a.status === 'SUCCEEDED').length;
    await pollUntil('the retry SUCCEEDED', async () => (await statusOf([retryId])) === 1, { timeoutMs: 30_000 });
    // Behind a single priority slot at 100 ms a send, most first sends are still waiting.
    const firstSendsDone = await statusOf(backlog.attemptIds);
    expect(firstSendsDone).toBeLessThan(backlog.attemptIds.length / 2);
    await pollUntil('the backlog drained', async () => (await statusOf(backlog.attemptIds)) === backlog.attemptIds.length, { timeoutMs: 60_000 });
  });
});
