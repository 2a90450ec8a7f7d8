import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '@hub/observability';
import { createTestContext, pollUntil, type TestContext } from '@hub/testing';
import { ConsumerRunner, type ConsumedMessage } from './consumer-runner.ts';
import { deliveryRequestedSchema, makeEvent, type DeliveryRequested } from './events.ts';
import { createProducer, type Producer } from './producer.ts';

let ctx: TestContext;
let producer: Producer;

beforeAll(async () => {
  ctx = await createTestContext();
  producer = createProducer(ctx.kafka);
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await ctx?.close();
});

function deliveryEvent(retryCount = 0): DeliveryRequested {
  return makeEvent<DeliveryRequested>(
    'delivery.requested',
    {
      attemptId: crypto.randomUUID(),
      notificationId: crypto.randomUUID(),
      channel: 'PUSH',
      priority: false,
      retryCount,
    },
    new Date(),
  );
}

function runner(
  groupSuffix: string,
  handler: (m: ConsumedMessage<DeliveryRequested>) => Promise<void>,
  options: { commitIntervalMs?: number } = {},
) {
  const topic = ctx.topics.delivery('PUSH', false);
  return new ConsumerRunner({
    kafka: ctx.kafka,
    groupId: `${ctx.topics.dispatcherGroup('PUSH')}-${groupSuffix}`,
    topics: [topic],
    schema: deliveryRequestedSchema,
    handler,
    dlqProducer: producer,
    dlqTopicOf: ctx.topics.dlqOf,
    concurrency: 4,
    logger: ctx.logger,
    registry: createMetricsRegistry('test'),
    retryDelayMs: () => 20,
    ...options,
  });
}

async function committedOffset(groupId: string, topic: string, partition: number): Promise<string | undefined> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return committed!.partitions.find((p) => p.partition === partition)?.offset;
  } finally {
    await admin.disconnect();
  }
}

describe('ConsumerRunner against a real broker', () => {
  it('delivers valid messages to the handler and parks a poison message on the .dlq topic', async () => {
    const topic = ctx.topics.delivery('PUSH', false);
    const good = [deliveryEvent(), deliveryEvent()];
    const seen: string[] = [];
    const headersOf = new Map<string, Record<string, string>>();
    const consumer = runner('roundtrip', async (m) => {
      seen.push(m.value.attemptId);
      headersOf.set(m.value.attemptId, m.headers);
    });
    await consumer.start();
    try {
      await producer.send({
        topic,
        messages: [
          { key: 'r1', value: JSON.stringify(good[0]), headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } },
          { key: 'r1', value: '{"not":"a delivery"}', headers: { 'x-trace': 'abc' } },
          { key: 'r1', value: 'not json at all' },
          { key: 'r1', value: JSON.stringify(good[1]) },
        ],
      });
      await pollUntil('both valid messages handled', () => seen.length === 2);
      expect(seen.sort()).toEqual(good.map((g) => g.attemptId).sort());
      // The record's headers reach the handler as text (the dispatcher reads its trace context there).
      expect(headersOf.get(good[0]!.attemptId)).toEqual({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
      expect(headersOf.get(good[1]!.attemptId)).toEqual({});
    } finally {
      await consumer.stop();
    }

    const dlqMessages: { value: string; headers: Record<string, string> }[] = [];
    const dlqConsumer = ctx.kafka.consumer({ groupId: `${ctx.namespace}-dlq-reader` });
    await dlqConsumer.connect();
    await dlqConsumer.subscribe({ topics: [ctx.topics.dlqOf(topic)], fromBeginning: true });
    await dlqConsumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
        );
        dlqMessages.push({ value: message.value?.toString() ?? '', headers });
      },
    });
    try {
      await pollUntil('two poison messages on the DLQ', () => dlqMessages.length === 2);
    } finally {
      await dlqConsumer.disconnect();
    }
    const byValue = Object.fromEntries(dlqMessages.map((m) => [m.value, m.headers]));
    expect(byValue['{"not":"a delivery"}']?.['x-dlq-error']).toMatch(/^schema: /);
    expect(byValue['{"not":"a delivery"}']?.['x-trace']).toBe('abc');
    expect(byValue['{"not":"a delivery"}']?.['x-dlq-source-topic']).toBe(topic);
    expect(byValue['not json at all']?.['x-dlq-error']).toBe('message value is not JSON');
  });

  it('retries a failing handler in place and commits only after it succeeds', async () => {
    const topic = ctx.topics.delivery('PUSH', false);
    const groupId = `${ctx.topics.dispatcherGroup('PUSH')}-retry`;
    const event = deliveryEvent(7);
    let calls = 0;
    const consumer = runner('retry', async (m) => {
      if (m.value.attemptId !== event.attemptId) return;
      calls++;
      if (calls < 3) throw new Error('database unavailable');
    });
    await consumer.start();
    try {
      await producer.send({ topic, messages: [{ key: 'r2', value: JSON.stringify(event) }] });
      await pollUntil('handler succeeded on the third call', () => calls === 3);
      const admin = ctx.kafka.admin();
      await admin.connect();
      try {
        const high = await admin.fetchTopicOffsets(topic);
        await pollUntil('group offset reaches the end of every partition', async () => {
          const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
          // Partitions that never held a message have no committed offset (-1) and high 0.
          return high
            .filter((h) => h.high !== '0')
            .every((h) => committed!.partitions.find((p) => p.partition === h.partition)?.offset === h.high);
        });
      } finally {
        await admin.disconnect();
      }
    } finally {
      await consumer.stop();
    }
    expect(calls).toBe(3);
  });

  it('fetches past a handler still running and commits only up to it', async () => {
    const topic = ctx.topics.delivery('PUSH', false);
    const groupId = `${ctx.topics.dispatcherGroup('PUSH')}-slow`;
    const slow = deliveryEvent();
    const later = Array.from({ length: 10 }, () => deliveryEvent());
    let enterSlow: () => void = () => {};
    const slowEntered = new Promise<void>((resolve) => (enterSlow = resolve));
    let releaseSlow: () => void = () => {};
    const slowReleased = new Promise<void>((resolve) => (releaseSlow = resolve));
    const seen = new Set<string>();
    const consumer = runner(
      'slow',
      async (m) => {
        if (m.value.attemptId === slow.attemptId) {
          enterSlow();
          await slowReleased;
        }
        seen.add(m.value.attemptId);
      },
      { commitIntervalMs: 20 },
    );
    await consumer.start();
    try {
      // One key, so one partition: the later messages are fetched after the slow one started.
      const [sent] = await producer.send({ topic, messages: [{ key: 'slow-lane', value: JSON.stringify(slow) }] });
      await slowEntered;
      await producer.send({ topic, messages: later.map((e) => ({ key: 'slow-lane', value: JSON.stringify(e) })) });
      await pollUntil('the later messages handled while the slow one still runs', () => later.every((e) => seen.has(e.attemptId)));
      expect(seen.has(slow.attemptId)).toBe(false);
      // Everything before the slow message is committed, nothing after it.
      await pollUntil('offset committed up to the slow message', async () => (await committedOffset(groupId, topic, sent!.partition)) === sent!.baseOffset);
      releaseSlow();
      const end = (BigInt(sent!.baseOffset!) + BigInt(later.length) + 1n).toString();
      await pollUntil('offset committed past every message', async () => (await committedOffset(groupId, topic, sent!.partition)) === end);
    } finally {
      releaseSlow();
      await consumer.stop();
    }
  });

  it('on stop, lets a running handler finish and commits its offset before leaving', async () => {
    const topic = ctx.topics.delivery('PUSH', false);
    const groupId = `${ctx.topics.dispatcherGroup('PUSH')}-stop`;
    const event = deliveryEvent();
    let enter: () => void = () => {};
    const entered = new Promise<void>((resolve) => (enter = resolve));
    let finished = false;
    const consumer = runner(
      'stop',
      async (m) => {
        if (m.value.attemptId !== event.attemptId) return;
        enter();
        await new Promise((r) => setTimeout(r, 300));
        finished = true;
      },
      { commitIntervalMs: 60_000 },
    );
    await consumer.start();
    const [sent] = await producer.send({ topic, messages: [{ key: 'stop-lane', value: JSON.stringify(event) }] });
    await entered;
    await consumer.stop();
    expect(finished).toBe(true);
    expect(await committedOffset(groupId, topic, sent!.partition)).toBe((BigInt(sent!.baseOffset!) + 1n).toString());
  });
});
