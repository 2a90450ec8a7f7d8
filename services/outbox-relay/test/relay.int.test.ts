import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { Consumer } from 'kafkajs';
import { maintenanceDue } from '@hub/attempts';
import { createProducer, type Producer } from '@hub/messaging';
import { createMetricsRegistry } from '@hub/observability';
import { createTestContext, pollUntil, seedNotification, seedNotifications, type TestContext } from '@hub/testing';
import { OutboxRelay, type RelayOptions } from '../src/relay.ts';

let ctx: TestContext;
let producer: Producer;
let consumer: Consumer;
const received: { topic: string; key: string | null; value: Record<string, unknown> }[] = [];

const options: RelayOptions = {
  batchSize: 100,
  publishers: 2,
  pollIntervalMs: 200,
  maintenanceIntervalMs: 100,
  maintenanceBatchSize: 100,
  housekeepingIntervalMs: 60_000,
  retentionMs: 60 * 60 * 1_000,
  backoff: { baseMs: 1_000, maxMs: 60_000 },
};

function relay(overrides: Partial<RelayOptions> = {}, registry = createMetricsRegistry('relay-test')): OutboxRelay {
  return new OutboxRelay(
    {
      db: ctx.database.db,
      sql: ctx.database.sql,
      producer,
      topics: ctx.topics,
      logger: ctx.logger,
      registry,
    },
    { ...options, ...overrides },
  );
}

const receivedFor = (attemptId: string) => received.filter((m) => m.value.attemptId === attemptId);

beforeAll(async () => {
  ctx = await createTestContext();
  producer = createProducer(ctx.kafka);
  await producer.connect();
  consumer = ctx.kafka.consumer({ groupId: `${ctx.namespace}-relay-test-reader`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  const lanes = (['PUSH', 'EMAIL', 'SMS', 'KAKAO_ALIMTALK'] as const).flatMap((c) => Object.values(ctx.topics.deliveryLanes(c)));
  await consumer.subscribe({ topics: [...lanes, ctx.topics.alertFired, ctx.topics.vendorResult], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      received.push({ topic, key: message.key?.toString() ?? null, value: JSON.parse(message.value!.toString()) });
    },
  });
});

afterAll(async () => {
  await consumer?.disconnect();
  await producer?.disconnect();
  await ctx?.close();
});

describe('outbox relay', () => {
  it('publishes each due row to its delivery topic keyed by recipient and marks it published', async () => {
    const r = relay();
    await r.start();
    try {
      const seeded = await seedNotification(ctx.database.db, ctx.topics, {
        kind: 'MARKETING',
        deliveries: [
          { channel: 'EMAIL', address: 'a@example.com' },
          { channel: 'SMS', address: '+821012345678' },
        ],
      });
      await pollUntil('both deliveries on Kafka', () => seeded.attemptIds.every((id) => receivedFor(id).length === 1));
      const email = receivedFor(seeded.attemptIds[0]!)[0]!;
      expect(email.topic).toBe(ctx.topics.delivery('EMAIL', false));
      expect(email.key).toBe(seeded.recipientId);
      expect(email.value).toMatchObject({ type: 'delivery.requested', retryCount: 0, channel: 'EMAIL', priority: false });
      expect(receivedFor(seeded.attemptIds[1]!)[0]!.topic).toBe(ctx.topics.delivery('SMS', false));
      // The relay publishes, then commits the claim that marks the rows: a consumer can see a
      // message a moment before its row shows as published.
      await pollUntil(
        'every outbox row marked published',
        async () =>
          (await ctx.database.db.selectFrom('outbox').select(sql<number>`count(*)::int`.as('n')).where('published_at', 'is', null).executeTakeFirstOrThrow()).n === 0,
      );
    } finally {
      await r.stop();
    }
  });

  it('publishes every row exactly once while two relays compete for the same outbox', async () => {
    const seeded = await seedNotifications(
      ctx.database.db,
      ctx.topics,
      Array.from({ length: 300 }, (_, i) => ({ kind: 'SECURITY' as const, deliveries: [{ channel: 'PUSH' as const, address: `token-${i}-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx` }] })),
    );
    const ids = seeded.flatMap((s) => s.attemptIds);
    const relays = [relay({ batchSize: 20 }), relay({ batchSize: 20 })];
    await Promise.all(relays.map((r) => r.start()));
    try {
      await pollUntil('all 300 published', () => ids.every((id) => receivedFor(id).length >= 1), { timeoutMs: 30_000 });
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
    }
    expect(ids.filter((id) => receivedFor(id).length !== 1)).toEqual([]);
  });

  it('leaves rows Kafka refuses unpublished with the error recorded, and publishes the rest', async () => {
    await ctx.database.db
      .insertInto('outbox')
      .values({ id: crypto.randomUUID(), topic: `${ctx.namespace}.no-such-topic`, message_key: 'k', payload: { hello: 1 }, headers: {} })
      .execute();
    const r = relay({ publishers: 1 });
    await r.start();
    try {
      const row = await pollUntil('the failure is recorded', () =>
        ctx.database.db
          .selectFrom('outbox')
          .select(['publish_attempts', 'last_error', 'published_at'])
          .where('topic', '=', `${ctx.namespace}.no-such-topic`)
          .where('publish_attempts', '>', 0)
          .executeTakeFirst(),
      );
      expect(row.published_at).toBeNull();
      expect(row.last_error).toBeTruthy();
      const seeded = await seedNotification(ctx.database.db, ctx.topics, {
        deliveries: [{ channel: 'SMS', address: '+821099998888' }],
      });
      await pollUntil('a later row still gets through', () => receivedFor(seeded.attemptIds[0]!).length === 1, { timeoutMs: 30_000 });
    } finally {
      await r.stop();
      await ctx.database.db.deleteFrom('outbox').where('topic', '=', `${ctx.namespace}.no-such-topic`).execute();
    }
  });

  it('re-drives a due retry once with its current retry count, on the priority lane\'s retry topic, and clears next_attempt_at', async () => {
    const seeded = await seedNotification(ctx.database.db, ctx.topics, {
      kind: 'SECURITY',
      deliveries: [{ channel: 'EMAIL', address: 'retry@example.com' }],
    });
    const attemptId = seeded.attemptIds[0]!;
    await ctx.database.db
      .updateTable('delivery_attempts')
      .set({ retry_count: 2, next_attempt_at: new Date(Date.now() - 1_000), failure_reason: 'transient: 503' })
      .where('id', '=', attemptId)
      .execute();
    const r = relay();
    await r.start();
    try {
      await pollUntil('the retry is published', () => receivedFor(attemptId).some((m) => m.value.retryCount === 2));
    } finally {
      await r.stop();
    }
    const attempt = await ctx.database.db.selectFrom('delivery_attempts').selectAll().where('id', '=', attemptId).executeTakeFirstOrThrow();
    expect(attempt.next_attempt_at).toBeNull();
    expect(attempt.status).toBe('PENDING');
    expect(receivedFor(attemptId).filter((m) => m.value.retryCount === 2)).toHaveLength(1);
    // A SECURITY attempt's retry goes to its own lane, never behind the priority lane's first sends.
    expect(receivedFor(attemptId).find((m) => m.value.retryCount === 2)!.topic).toBe(ctx.topics.delivery('EMAIL', true, true));
  });

  it('counts an expired dispatch lease as a failed dispatch and exhausts the attempt on its last one', async () => {
    const seeded = await seedNotification(ctx.database.db, ctx.topics, {
      kind: 'SECURITY',
      deliveries: [
        { channel: 'SMS', address: '+821011112222' },
        { channel: 'SMS', address: '+821033334444' },
      ],
    });
    const [early, last] = seeded.attemptIds as [string, string];
    const expired = new Date(Date.now() - 1_000);
    await ctx.database.db
      .updateTable('delivery_attempts')
      .set({ status: 'DISPATCHING', lease_expires_at: expired, retry_count: 0 })
      .where('id', '=', early)
      .execute();
    await ctx.database.db
      .updateTable('delivery_attempts')
      .set({ status: 'DISPATCHING', lease_expires_at: expired, retry_count: 7 })
      .where('id', '=', last)
      .execute();
    const r = relay({ backoff: { baseMs: 60_000, maxMs: 60_000 } });
    const recovered = await r.maintain();
    expect(recovered.recovered).toBe(2);
    const rows = await ctx.database.db
      .selectFrom('delivery_attempts')
      .select(['id', 'status', 'retry_count', 'next_attempt_at', 'failure_reason', 'lease_expires_at'])
      .where('id', 'in', [early, last])
      .execute();
    const byId = Object.fromEntries(rows.map((row) => [row.id, row]));
    expect(byId[early]).toMatchObject({ status: 'PENDING', retry_count: 1, lease_expires_at: null });
    expect(byId[early]!.next_attempt_at!.getTime()).toBeGreaterThan(Date.now());
    expect(byId[early]!.failure_reason).toMatch(/^transient: dispatch lease expired/);
    // The eighth failed dispatch (SPEC §2's default) is the last.
    expect(byId[last]).toMatchObject({ status: 'EXHAUSTED', retry_count: 8 });
    const alerts = await ctx.database.db
      .selectFrom('outbox')
      .select('payload')
      .where('topic', '=', ctx.topics.alertFired)
      .execute();
    expect(alerts.map((a) => a.payload)).toContainEqual(
      expect.objectContaining({ alertType: 'NOTIFY_VENDOR_EXHAUSTED', attemptId: last }),
    );
  });

  it('asks in one probe whether maintenance has work, on the same guards as its two steps', async () => {
    const seeded = await seedNotification(ctx.database.db, ctx.topics, {
      kind: 'TRANSACTIONAL',
      deliveries: [
        { channel: 'EMAIL', address: 'probe-lease@example.com' },
        { channel: 'EMAIL', address: 'probe-retry@example.com' },
      ],
    });
    const [leased, retrying] = seeded.attemptIds as [string, string];
    // A probe time before every other row of this file: only these two rows can be due at it.
    const due = new Date('2000-01-01T00:00:00Z');
    const probeAt = new Date('2000-01-01T00:00:01Z');
    const set = (id: string, values: { status?: 'PENDING' | 'DISPATCHING'; lease_expires_at?: Date | null; next_attempt_at?: Date | null }) =>
      ctx.database.db.updateTable('delivery_attempts').set(values).where('id', '=', id).execute();
    try {
      expect(await maintenanceDue(ctx.database.db, probeAt)).toEqual({ expiredLeases: false, dueRetries: false });
      // A PENDING attempt with an old lease time is no lease to recover (the guard is the status).
      await set(leased, { lease_expires_at: due });
      expect(await maintenanceDue(ctx.database.db, probeAt)).toEqual({ expiredLeases: false, dueRetries: false });
      await set(leased, { status: 'DISPATCHING' });
      expect(await maintenanceDue(ctx.database.db, probeAt)).toEqual({ expiredLeases: true, dueRetries: false });
      await set(retrying, { next_attempt_at: due });
      expect(await maintenanceDue(ctx.database.db, probeAt)).toEqual({ expiredLeases: true, dueRetries: true });
      // Due only once its time has come.
      expect(await maintenanceDue(ctx.database.db, due)).toEqual({ expiredLeases: false, dueRetries: true });
    } finally {
      await set(leased, { status: 'PENDING', lease_expires_at: null });
      await set(retrying, { next_attempt_at: null });
    }
  });

  it('publishes again a delivery request that was published but never claimed (a lost Kafka record), and only that', async () => {
    const seeded = await seedNotification(ctx.database.db, ctx.topics, {
      deliveries: [
        { channel: 'PUSH', address: 'lost-token-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' },
        { channel: 'PUSH', address: 'slow-token-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' },
        { channel: 'PUSH', address: 'unpub-token-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' },
      ],
    });
    const [lost, recent, unpublished] = seeded.attemptIds as [string, string, string];
    const longAgo = new Date(Date.now() - 10 * 60_000);
    // Marked published as the relay does, but never on Kafka: the record was lost.
    await sql`update outbox set published_at = now() where payload ->> 'attemptId' = any(${[lost, recent]})`.execute(ctx.database.db);
    await ctx.database.db.updateTable('delivery_attempts').set({ requested_at: longAgo }).where('id', 'in', [lost, unpublished]).execute();
    const swept = await relay({ sweepAfterMs: 60_000 }).sweep();
    expect(swept).toBe(1);
    const requests = await ctx.database.db.selectFrom('outbox').select(['payload', 'published_at']).where('topic', '=', ctx.topics.delivery('PUSH', true)).execute();
    const of = (id: string) => requests.filter((r) => r.payload.attemptId === id);
    expect(of(lost)).toHaveLength(2);
    expect(of(lost).filter((r) => r.published_at === null)[0]!.payload).toMatchObject({ type: 'delivery.requested', retryCount: 0 });
    // Published a moment ago: still on its way. Never published: still waiting in the outbox.
    expect(of(recent)).toHaveLength(1);
    expect(of(unpublished)).toHaveLength(1);
  });

  it('deletes published rows past the retention and idempotency keys older than 24 hours, keeping the rest', async () => {
    const old = new Date(Date.now() - 2 * 60 * 60 * 1_000);
    const ids = { oldPublished: crypto.randomUUID(), recentPublished: crypto.randomUUID(), oldUnpublished: crypto.randomUUID() };
    await ctx.database.db
      .insertInto('outbox')
      .values([
        { id: ids.oldPublished, topic: 't', message_key: null, payload: {}, headers: {}, published_at: old, created_at: old },
        { id: ids.recentPublished, topic: 't', message_key: null, payload: {}, headers: {}, published_at: new Date() },
        { id: ids.oldUnpublished, topic: 't', message_key: null, payload: {}, headers: {}, created_at: old, available_at: new Date(Date.now() + 3_600_000) },
      ])
      .execute();
    await ctx.database.db
      .insertInto('idempotency_keys')
      .values([
        { key: 'old-key', notification_id: crypto.randomUUID(), created_at: new Date(Date.now() - 25 * 60 * 60 * 1_000) },
        { key: 'fresh-key', notification_id: crypto.randomUUID() },
      ])
      .execute();
    const deleted = await relay().housekeep();
    expect(deleted.idempotencyKeys).toBe(1);
    const left = await ctx.database.db.selectFrom('outbox').select('id').where('id', 'in', Object.values(ids)).execute();
    expect(left.map((l) => l.id).sort()).toEqual([ids.recentPublished, ids.oldUnpublished].sort());
    const keys = await ctx.database.db.selectFrom('idempotency_keys').select('key').execute();
    expect(keys.map((k) => k.key)).toEqual(['fresh-key']);
  });

  it('deletes idempotency keys older than the configured idempotency window, not a fixed 24 hours', async () => {
    await ctx.database.db
      .insertInto('idempotency_keys')
      .values([
        { key: 'ttl-two-hours-old', notification_id: crypto.randomUUID(), created_at: new Date(Date.now() - 2 * 60 * 60 * 1_000) },
        { key: 'ttl-fresh', notification_id: crypto.randomUUID() },
      ])
      .execute();
    // IDEMPOTENCY_TTL_SECONDS=3600, as outbox-relay's main.ts passes it.
    const deleted = await relay({ idempotencyTtlMs: 3_600_000 }).housekeep();
    expect(deleted.idempotencyKeys).toBeGreaterThanOrEqual(1);
    const keys = await ctx.database.db.selectFrom('idempotency_keys').select('key').where('key', 'like', 'ttl-%').execute();
    expect(keys.map((k) => k.key)).toEqual(['ttl-fresh']);
  });

  it('wakes on NOTIFY when a row commits, without waiting for the poll', async () => {
    // A poll interval far beyond the test's deadline: only the notification can wake it.
    const r = relay({ pollIntervalMs: 600_000, publishers: 1 });
    await r.start();
    try {
      // Let the first (empty) round pass so the publisher is asleep.
      await r.publishOnce();
      const seeded = await seedNotification(ctx.database.db, ctx.topics, { deliveries: [{ channel: 'PUSH', address: 'wake-token-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }] });
      await pollUntil('published after NOTIFY', () => receivedFor(seeded.attemptIds[0]!).length === 1, { timeoutMs: 10_000 });
    } finally {
      await r.stop();
    }
  });

  it('publishes a deferred row once it is due, found by the polling fallback', async () => {
    const r = relay({ pollIntervalMs: 100, publishers: 1 });
    await r.start();
    try {
      const seeded = await seedNotification(ctx.database.db, ctx.topics, {
        availableAt: new Date(Date.now() + 1_000),
        deliveries: [{ channel: 'EMAIL', address: 'later@example.com' }],
      });
      // Its NOTIFY fired at insert, when it was not yet due; nothing notifies when it becomes due.
      await pollUntil('deferred row published', () => receivedFor(seeded.attemptIds[0]!).length === 1, { timeoutMs: 10_000 });
      // The consumer may see the message before the relay's marking transaction commits.
      const row = await pollUntil('deferred row marked published', async () => {
        const outbox = await ctx.database.db
          .selectFrom('outbox')
          .select(['available_at', 'published_at'])
          .where(sql<string>`payload->>'attemptId'`, '=', seeded.attemptIds[0]!)
          .executeTakeFirstOrThrow();
        return outbox.published_at !== null && outbox;
      });
      expect(row.published_at!.getTime()).toBeGreaterThanOrEqual(row.available_at.getTime());
    } finally {
      await r.stop();
    }
  });

  it('reports the age of the oldest due unpublished row as outbox_lag_seconds', async () => {
    const registry = createMetricsRegistry('relay-lag');
    relay({}, registry);
    await ctx.database.db
      .insertInto('outbox')
      .values({ id: crypto.randomUUID(), topic: ctx.topics.alertFired, message_key: null, payload: {}, headers: {}, available_at: new Date(Date.now() - 30_000) })
      .execute();
    try {
      const lag = (await registry.getSingleMetric('outbox_lag_seconds')!.get()).values[0]!.value;
      expect(lag).toBeGreaterThanOrEqual(29);
    } finally {
      await ctx.database.db.deleteFrom('outbox').where('topic', '=', ctx.topics.alertFired).where('published_at', 'is', null).execute();
    }
  });
});
