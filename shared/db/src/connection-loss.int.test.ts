import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, pollUntil, type TestContext } from '@hub/testing';
import { openPostgres } from './client.ts';

// postgres.js 3.4.9 loses track of queries when a connection dies: a query issued on a
// reserved connection (every kysely transaction) after its socket failed never settles, and a
// queued write can throw an uncaught TypeError (porsager/postgres#1154, #1208). That stalled
// shutdowns and transactions during a database outage; patches/postgres+3.4.9.patch fixes the
// reserved-connection case shown here.

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
});
afterAll(async () => {
  await ctx?.close();
});

const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms))]);

describe('postgres.js when a connection dies', () => {
  it('rejects every later query on a reserved connection instead of hanging', async () => {
    const sql = openPostgres(ctx.databaseUrl, { max: 2, onnotice: () => {} });
    const killer = openPostgres(ctx.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const reserved = await sql.reserve();
      const [row] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await killer`select pg_terminate_backend(${row!.pid})`;
      const outcome = () => reserved`select 1`.then(() => 'ok', (err: { code?: string }) => err.code ?? 'error');
      expect(await within(outcome(), 5_000)).not.toBe('hung');
      expect(await within(outcome(), 5_000)).toBe('CONNECTION_CLOSED');
      reserved.release();
      // The pool replaces the dead connection (its first use may still fail once).
      await pollUntil('the pool answers again', async () => (await sql`select 1 as one`)[0]?.one === 1);
    } finally {
      await sql.end({ timeout: 1 });
      await killer.end({ timeout: 1 });
    }
  });
});
