import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, pollUntil, type TestContext } from '@hub/testing';
import { deleteTopicsWithPrefix, ensureTopics } from './kafka.ts';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
});

afterAll(async () => {
  await ctx?.close();
});

async function topicNames(): Promise<string[]> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

describe('deleteTopicsWithPrefix', () => {
  it('deletes the topics under the prefix and leaves a topic that only shares its start', async () => {
    const doomed = [`${ctx.namespace}.gone.a`, `${ctx.namespace}.gone.b`];
    const neighbour = `${ctx.namespace}.gonewith`;
    await ensureTopics(ctx.kafka, [...doomed, neighbour], { partitions: 1 });

    const deleted = await deleteTopicsWithPrefix(ctx.kafka, `${ctx.namespace}.gone.`);

    expect(deleted.sort()).toEqual(doomed);
    const left = await pollUntil('the deleted topics to leave the metadata', async () => {
      const names = await topicNames();
      return doomed.some((t) => names.includes(t)) ? false : names;
    });
    expect(left).toContain(neighbour);
  });

  it('refuses an empty prefix instead of deleting every topic', async () => {
    await expect(deleteTopicsWithPrefix(ctx.kafka, '')).rejects.toThrow(/empty prefix/);
  });
});
