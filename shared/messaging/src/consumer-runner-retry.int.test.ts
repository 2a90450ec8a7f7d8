import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsRegistry, type Registry } from '@hub/observability';
import { createTestContext, pollUntil, type TestContext } from '@hub/testing';
import { ConsumerRunner, type ConsumedMessage } from './consumer-runner.ts';
import { deliveryRequestedSchema, makeEvent, type DeliveryRequested } from './events.ts';
import { createProducer } from './producer.ts';

// How a failing handler is retried in place: whatever it throws, and until the partition is gone.

let ctx: TestContext;
beforeAll(async () => void (ctx = await createTestContext()));
afterAll(() => ctx?.close());

/** Sends one message and starts a consumer whose handler sees only that message. */
async function consumeOne(
  name: string,
  handler: (m: ConsumedMessage<DeliveryRequested>) => Promise<void>,
  logger: Logger = ctx.logger,
): Promise<{ registry: Registry; topic: string; stop: () => Promise<void> }> {
  const topic = ctx.topics.delivery('SMS', false);
  const producer = createProducer(ctx.kafka);
  await producer.connect();
  const registry = createMetricsRegistry('test');
  const event = makeEvent<DeliveryRequested>(
    'delivery.requested',
    { attemptId: crypto.randomUUID(), notificationId: crypto.randomUUID(), channel: 'SMS', priority: false, retryCount: 0 },
    new Date(),
  );
  const consumer = new ConsumerRunner({
    kafka: ctx.kafka,
    groupId: `${ctx.namespace}-${name}`,
    topics: [topic],
    schema: deliveryRequestedSchema,
    handler: (m) => (m.value.attemptId === event.attemptId ? handler(m) : Promise.resolve()),
    dlqProducer: producer,
    dlqTopicOf: ctx.topics.dlqOf,
    concurrency: 2,
    logger,
    registry,
    retryDelayMs: () => 10,
    commitIntervalMs: 20,
  });
  await producer.send({ topic, messages: [{ key: name, value: JSON.stringify(event) }] });
  await consumer.start();
  return {
    registry,
    topic,
    stop: async () => {
      await consumer.stop();
      await producer.disconnect();
    },
  };
}

async function messagesCount(registry: Registry, topic: string, outcome: 'handled' | 'retried'): Promise<number> {
  const metric = await registry.getSingleMetric('consumer_messages_total')!.get();
  return metric.values.find((v) => v.labels.topic === topic && v.labels.outcome === outcome)?.value ?? 0;
}

describe('ConsumerRunner retrying a failing handler', () => {
  it('retries a TypeError and a thrown non-Error like any other failure until the handler succeeds', async () => {
    let calls = 0;
    const run = await consumeOne('retry-any-error', async () => {
      calls++;
      if (calls === 1) throw new TypeError('a bug in the handler, fixed by a redeploy');
      if (calls === 2) throw 'a string';
    });
    try {
      // Handled: its offset is committed like any other (consumer-runner.int.test.ts).
      await pollUntil('the message handled', async () => (await messagesCount(run.registry, run.topic, 'handled')) === 1);
      expect(calls).toBe(3);
      expect(await messagesCount(run.registry, run.topic, 'retried')).toBe(2);
    } finally {
      await run.stop();
    }
  });

  it('stops retrying once the consumer stops, logging and counting every failure', async () => {
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
    let calls = 0;
    const run = await consumeOne(
      'retry-until-stop',
      async () => {
        calls++;
        throw new Error('database unavailable');
      },
      logger,
    );
    try {
      await pollUntil('the handler failed a few times', () => calls >= 3);
    } finally {
      await run.stop();
    }
    // The retry loop ended: stop() did not have to leave the handler running.
    expect(warnings).not.toContain('stopping with handlers still running');
    expect(await messagesCount(run.registry, run.topic, 'retried')).toBe(calls);
  });
});
