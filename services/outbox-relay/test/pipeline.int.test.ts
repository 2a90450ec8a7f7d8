import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { Channel } from '@hub/domain';
import { createProducer, type Producer } from '@hub/messaging';
import { createMetricsRegistry } from '@hub/observability';
import { OutboxRelay } from '../src/relay.ts';
import { createTestContext, pollUntil, seedDevice, seedNotification, seedNotifications, type TestContext } from '@hub/testing';
import { MockVendor, type VendorAccepted, type VendorRequest, type VendorSender } from '@hub/vendors';
import { Dispatcher, ProtectedVendor } from '@hub/dispatching';

let ctx: TestContext;
let producer: Producer;
let relay: OutboxRelay;
const dispatchers: Dispatcher[] = [];
const calls = new Map<string, number>();

/** The mock vendor, counting calls per attempt so duplicates would show. */
class CountingVendor implements VendorSender {
  readonly name: string;
  private readonly inner: MockVendor;
  constructor(channel: Channel, latencyMs: number) {
    this.inner = new MockVendor({ channel, latencyMs, failureMix: { transient: 0, permanent: 0, invalid_recipient: 0 }, random: () => 0 });
    this.name = this.inner.name;
  }
  send(request: VendorRequest): Promise<VendorAccepted> {
    calls.set(request.attemptId, (calls.get(request.attemptId) ?? 0) + 1);
    return this.inner.send(request);
  }
}

function dispatcher(channel: Channel, options: { latencyMs?: number; bulkConcurrency?: number } = {}): Dispatcher {
  const d = new Dispatcher({
    channel,
    db: ctx.database.db,
    kafka: ctx.kafka,
    producer,
    topics: ctx.topics,
    vendor: new ProtectedVendor(new CountingVendor(channel, options.latencyMs ?? 0), {
      attempts: 3,
      timeoutMs: 2_000,
      breaker: { errorThresholdPercentage: 50, volumeThreshold: 10_000, resetTimeoutMs: 1_000 },
      random: () => 0,
    }),
    logger: ctx.logger,
    registry: createMetricsRegistry('dispatcher-test'),
    bulkConcurrency: options.bulkConcurrency ?? 16,
    priorityConcurrency: 8,
    retryConcurrency: 8,
    leaseMs: 30_000,
    backoff: { baseMs: 20, maxMs: 100 },
  });
  dispatchers.push(d);
  return d;
}

async function attempt(id: string) {
  return ctx.database.db.selectFrom('delivery_attempts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function outboxEvents(topic: string, attemptId: string) {
  const rows = await ctx.database.db.selectFrom('outbox').select('payload').where('topic', '=', topic).execute();
  return rows.map((r) => r.payload).filter((p) => p.attemptId === attemptId);
}

const final = (status: string) => ['SUCCEEDED', 'EXHAUSTED', 'PERMANENTLY_FAILED'].includes(status);

beforeAll(async () => {
  ctx = await createTestContext();
  producer = createProducer(ctx.kafka);
  await producer.connect();
  relay = new OutboxRelay(
    { db: ctx.database.db, sql: ctx.database.sql, producer, topics: ctx.topics, logger: ctx.logger, registry: createMetricsRegistry('relay') },
    {
      batchSize: 500,
      publishers: 2,
      pollIntervalMs: 200,
      maintenanceIntervalMs: 50,
      maintenanceBatchSize: 100,
      housekeepingIntervalMs: 60_000,
      retentionMs: 3_600_000,
      backoff: { baseMs: 20, maxMs: 100 },
    },
  );
  await relay.start();
});

afterAll(async () => {
  await Promise.all(dispatchers.map((d) => d.stop()));
  await relay?.stop();
  await producer?.disconnect();
  await ctx?.close();
});

describe('relay and dispatchers in one process (mock vendors)', () => {
  it('gives a MARKETING backlog no hold on the priority lane: a SECURITY delivery succeeds while most of 5,000 still wait', async () => {
    const backlog = await seedNotifications(
      ctx.database.db,
      ctx.topics,
      Array.from({ length: 5_000 }, (_, i) => ({
        kind: 'MARKETING' as const,
        recipientId: `bulk-${i % 50}`,
        deliveries: [{ channel: 'SMS' as const, address: `+8210${String(i).padStart(8, '0')}` }],
      })),
    );
    const urgent = await seedNotification(ctx.database.db, ctx.topics, {
      kind: 'SECURITY',
      deliveries: [{ channel: 'SMS', address: '+821055556666' }],
    });
    // Everything is on Kafka before the dispatcher starts: the backlog is queued first.
    await pollUntil(
      'backlog published',
      async () =>
        (await ctx.database.db.selectFrom('outbox').select(sql<number>`count(*)::int`.as('n')).where('published_at', 'is', null).executeTakeFirstOrThrow()).n === 0,
      { timeoutMs: 60_000 },
    );
    const sms = dispatcher('SMS', { latencyMs: 5, bulkConcurrency: 4 });
    await sms.start();
    await pollUntil('the SECURITY delivery succeeded', async () => (await attempt(urgent.attemptIds[0]!)).status === 'SUCCEEDED', {
      timeoutMs: 60_000,
    });
    const done = await ctx.database.db
      .selectFrom('delivery_attempts')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('id', 'in', backlog.slice(0, 5_000).flatMap((b) => b.attemptIds).slice(0, 5_000))
      .where('status', '=', 'SUCCEEDED')
      .executeTakeFirstOrThrow();
    expect(done.n).toBeLessThan(2_500);
  });

  it('delivers on all four channels, records vendor ids and results, and completes the notification', async () => {
    for (const channel of ['PUSH', 'EMAIL', 'KAKAO_ALIMTALK'] as const) await dispatcher(channel).start();
    const recipientId = `user-${crypto.randomUUID()}`;
    const tokens = ['device-one-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'device-two-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'];
    const deviceIds = await Promise.all(tokens.map((t) => seedDevice(ctx.database.db, recipientId, t)));
    const seeded = await seedNotification(ctx.database.db, ctx.topics, {
      recipientId,
      kind: 'TRANSACTIONAL',
      deliveries: [
        { channel: 'PUSH', address: tokens[0]!, deviceTokenId: deviceIds[0]! },
        { channel: 'PUSH', address: tokens[1]!, deviceTokenId: deviceIds[1]! },
        { channel: 'EMAIL', address: 'success@simulator.amazonses.com' },
        { channel: 'SMS', address: '+821012341234' },
        { channel: 'KAKAO_ALIMTALK', address: '+821012341234' },
      ],
    });
    await pollUntil(
      'notification completed',
      async () =>
        (await ctx.database.db.selectFrom('notifications').select('status').where('id', '=', seeded.notificationId).executeTakeFirstOrThrow())
          .status === 'COMPLETED',
      { timeoutMs: 30_000 },
    );
    for (const id of seeded.attemptIds) {
      const row = await attempt(id);
      expect(row.status).toBe('SUCCEEDED');
      expect(row.vendor_message_id).toBeTruthy();
      expect(row.lease_expires_at).toBeNull();
      expect(calls.get(id)).toBe(1);
      expect(await outboxEvents(ctx.topics.vendorResult, id)).toEqual([
        expect.objectContaining({ outcome: 'SUCCEEDED', vendorMessageId: row.vendor_message_id }),
      ]);
    }
  });

  it('ends address-driven failures as SPEC §4 says: permanent at once, transient after eight dispatches, dead token disabled', async () => {
    const recipientId = `user-${crypto.randomUUID()}`;
    const deadToken = 'invalid-cccccccccccccccccccccccccccccccccccc';
    const deviceId = await seedDevice(ctx.database.db, recipientId, deadToken);
    const seeded = await seedNotification(ctx.database.db, ctx.topics, {
      recipientId,
      kind: 'SECURITY',
      deliveries: [
        { channel: 'EMAIL', address: 'bounce@simulator.amazonses.com' },
        { channel: 'EMAIL', address: 'someone+transient@example.com' },
        { channel: 'PUSH', address: deadToken, deviceTokenId: deviceId },
      ],
    });
    const [bounce, transient, push] = seeded.attemptIds as [string, string, string];
    await pollUntil('all three final', async () => (await Promise.all(seeded.attemptIds.map(attempt))).every((a) => final(a.status)), {
      timeoutMs: 45_000,
    });
    expect(await attempt(bounce)).toMatchObject({ status: 'EXHAUSTED', retry_count: 1 });
    expect((await attempt(bounce)).failure_reason).toMatch(/^permanent: /);
    expect(calls.get(bounce)).toBe(1);
    expect(await attempt(transient)).toMatchObject({ status: 'EXHAUSTED', retry_count: 8 });
    expect((await attempt(transient)).failure_reason).toMatch(/^transient: /);
    // Eight dispatches (SPEC §2's default), each with three vendor calls.
    expect(calls.get(transient)).toBe(24);
    expect((await attempt(push)).failure_reason).toMatch(/^invalid_recipient: /);
    const token = await ctx.database.db.selectFrom('device_tokens').selectAll().where('id', '=', deviceId).executeTakeFirstOrThrow();
    expect(token.active).toBe(false);
    for (const id of seeded.attemptIds) {
      expect(await outboxEvents(ctx.topics.alertFired, id)).toEqual([expect.objectContaining({ alertType: 'NOTIFY_VENDOR_EXHAUSTED' })]);
      expect(await outboxEvents(ctx.topics.vendorResult, id)).toEqual([expect.objectContaining({ outcome: 'EXHAUSTED' })]);
    }
    const notification = await ctx.database.db.selectFrom('notifications').select('status').where('id', '=', seeded.notificationId).executeTakeFirstOrThrow();
    expect(notification.status).toBe('COMPLETED');
  });

  it('falls back to SMS when a Kakao AlimTalk attempt fails permanently and the recipient has an SMS number', async () => {
    const seeded = await seedNotification(ctx.database.db, ctx.topics, {
      kind: 'SECURITY',
      recipientChannels: [
        { type: 'KAKAO_ALIMTALK', address: '+15005550009' },
        { type: 'SMS', address: '+821077778888' },
      ],
      deliveries: [{ channel: 'KAKAO_ALIMTALK', address: '+15005550009' }],
    });
    const fallback = await pollUntil('an SMS fallback succeeded', () =>
      ctx.database.db
        .selectFrom('delivery_attempts')
        .selectAll()
        .where('fallback_of', '=', seeded.attemptIds[0]!)
        .where('status', '=', 'SUCCEEDED')
        .executeTakeFirst(),
      { timeoutMs: 30_000 },
    );
    expect(fallback).toMatchObject({ channel: 'SMS', address: '+821077778888', notification_id: seeded.notificationId });
    expect(await attempt(seeded.attemptIds[0]!)).toMatchObject({ status: 'EXHAUSTED' });
    await pollUntil('notification completed after the fallback', async () =>
      (await ctx.database.db.selectFrom('notifications').select('status').where('id', '=', seeded.notificationId).executeTakeFirstOrThrow()).status === 'COMPLETED',
    );
  });

  it('does nothing for a duplicate or stale delivery message', async () => {
    const seeded = await seedNotification(ctx.database.db, ctx.topics, {
      kind: 'SECURITY',
      deliveries: [{ channel: 'EMAIL', address: 'dup@example.com' }],
    });
    const id = seeded.attemptIds[0]!;
    await pollUntil('delivered', async () => (await attempt(id)).status === 'SUCCEEDED');
    const [row] = await ctx.database.db.selectFrom('outbox').select(['payload', 'topic', 'message_key']).where('topic', '=', ctx.topics.delivery('EMAIL', true)).execute().then((rows) => rows.filter((r) => r.payload.attemptId === id));
    // The same message again, and one claiming an older retry count.
    await producer.send({
      topic: row!.topic,
      messages: [
        { key: row!.message_key, value: JSON.stringify(row!.payload) },
        { key: row!.message_key, value: JSON.stringify({ ...row!.payload, eventId: crypto.randomUUID(), retryCount: 3 }) },
      ],
    });
    const marker = await seedNotification(ctx.database.db, ctx.topics, {
      recipientId: seeded.recipientId,
      kind: 'SECURITY',
      deliveries: [{ channel: 'EMAIL', address: 'after@example.com' }],
    });
    // Same key, same partition: once the later message is handled, the duplicates were too.
    await pollUntil('a later message on the partition handled', async () => (await attempt(marker.attemptIds[0]!)).status === 'SUCCEEDED');
    expect(calls.get(id)).toBe(1);
    expect(await outboxEvents(ctx.topics.vendorResult, id)).toHaveLength(1);
  });
});
