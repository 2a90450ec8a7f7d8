import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '@hub/testing';
import { ensureTopics, type Admin } from './kafka.ts';
import { createProducer } from './producer.ts';

let ctx: TestContext;
let admin: Admin;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  admin = ctx.kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await ctx?.close();
});

/**
 * Two one-partition topics: `open` takes anything, `narrow` refuses records over 1 KB. One
 * sendBatch to both is one produce request: the broker appends the `open` records and refuses
 * the `narrow` one, so the whole send fails with part of it written.
 */
async function topics(name: string): Promise<{ open: string; narrow: string }> {
  const open = `${ctx.namespace}.${name}.open`;
  const narrow = `${ctx.namespace}.${name}.narrow`;
  await admin.createTopics({ waitForLeaders: false, topics: [{ topic: narrow, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '1024' }] }] });
  await ensureTopics(ctx.kafka, [open, narrow], { partitions: 1 });
  return { open, narrow };
}

async function recordsOn(topic: string): Promise<number> {
  const [partition] = await admin.fetchTopicOffsets(topic);
  return Number(partition!.high) - Number(partition!.low);
}

const values = (...names: string[]) => names.map((value) => ({ value }));

async function sendAfterPartialFailure(send: {
  send: (r: { topic: string; messages: { value: string }[] }) => Promise<unknown>;
  sendBatch: (b: { topicMessages: { topic: string; messages: { value: string }[] }[] }) => Promise<unknown>;
}, t: { open: string; narrow: string }): Promise<void> {
  await send.send({ topic: t.open, messages: values('first') });
  await expect(
    send.sendBatch({ topicMessages: [{ topic: t.open, messages: values('x1', 'x2') }, { topic: t.narrow, messages: values('y'.repeat(4_000)) }] }),
  ).rejects.toThrow(/larger than the max message size/);
  // The same number of records as the partly written send, then a different number.
  await send.send({ topic: t.open, messages: values('z1', 'z2') });
  await send.send({ topic: t.open, messages: values('w1') });
}

describe('Producer', () => {
  it('writes every record sent after a send the broker refused in part', async () => {
    const t = await topics('safe');
    const producer = createProducer(ctx.kafka);
    await producer.connect();
    try {
      await sendAfterPartialFailure(producer, t);
    } finally {
      await producer.disconnect();
    }
    // first, x1 and x2 (appended although the send failed), z1, z2, w1.
    expect(await recordsOn(t.open)).toBe(6);
  });

  it('guards against kafkajs: its idempotent producer acknowledges such records without writing them', async () => {
    const t = await topics('raw');
    const raw = ctx.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await raw.connect();
    try {
      await sendAfterPartialFailure(raw, t);
    } finally {
      await raw.disconnect();
    }
    // z1 and z2 were answered as duplicates of x1 and x2 and never written. If a kafkajs
    // upgrade makes this 6, Producer's replace-after-failure is no longer needed (ADR 0017).
    expect(await recordsOn(t.open)).toBe(4);
  });
});
