import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql as kyselySql } from 'kysely';
import { createTestContext, pollUntil, TcpProxy, type TestContext } from '@hub/testing';
import { createDb, openPostgres } from './client.ts';

// postgres.js 3.4.9 loses track of queries when a connection dies: a query issued on a
// reserved connection (every kysely transaction) after its socket failed never settles, and a
// queued write can throw an uncaught TypeError (porsager/postgres#1154, #1208). That stalled
// shutdowns and transactions during a database outage; patches/postgres+3.4.9.patch fixes the
// reserved-connection case shown here. It also fixes what the later tests show: releasing a
// connection that died while reserved (a kysely transaction during a cut) put it back among the
// idle ones without a socket, so the pool never recovered (#1199); a sql.begin transaction did
// the same through its own queue; a reservation waiting when a connection died never settled
// (#1195); a failed array-types query became an unhandled rejection (#1192).

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
});
afterAll(async () => {
  await ctx?.close();
});

const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms))]);

/** A TCP proxy in front of this file's database, and the URL that goes through it. */
async function proxiedDatabase(): Promise<{ proxy: TcpProxy; url: string }> {
  const url = new URL(ctx.databaseUrl);
  const proxy = new TcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  await proxy.start();
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  return { proxy, url: url.toString() };
}

/** 'ok', or the code a query failed with. */
const settled = (query: PromiseLike<unknown>) =>
  Promise.resolve(query).then(
    () => 'ok',
    (err: { code?: string }) => err.code ?? 'error',
  );

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

  it('recovers once Postgres answers again after a kysely transaction lost its connection', async () => {
    const { proxy, url } = await proxiedDatabase();
    const db = createDb({ url, max: 2 });
    try {
      // Both connections open, and a transaction as the services run them (on a reserved connection).
      await Promise.all([kyselySql`select pg_sleep(0.05)`.execute(db.db), kyselySql`select pg_sleep(0.05)`.execute(db.db)]);
      await db.db.transaction().execute(async (tx) => {
        await kyselySql`select 1`.execute(tx);
      });
      // The cut lands while a transaction holds its connection; kysely releases it afterwards.
      const lost = db.db.transaction().execute(async (tx) => {
        await kyselySql`select 1`.execute(tx);
        await proxy.cut();
        await kyselySql`select pg_sleep(5)`.execute(tx);
      });
      // It fails (kysely's failed rollback currently surfaces as a TypeError), without hanging.
      expect(['ok', 'hung']).not.toContain(await within(settled(lost), 5_000));
      // While Postgres is unreachable a query fails instead of hanging.
      expect(await within(settled(kyselySql`select 1`.execute(db.db)), 5_000)).not.toBe('hung');
      await proxy.restore();
      // Before the fix the dead connection went back to the idle queue and was handed out again
      // and again without reconnecting: every query failed at once with CONNECTION_CLOSED.
      await pollUntil(
        'kysely queries succeed again',
        async () => (await kyselySql<{ y: number[] }>`select ${[1, 2]}::int[] as y`.execute(db.db)).rows[0]?.y.length === 2,
        { timeoutMs: 5_000 },
      );
      await db.db.transaction().execute(async (tx) => {
        await kyselySql`select 1`.execute(tx);
      });
    } finally {
      await db.close();
      await proxy.cut();
    }
  });

  it('fails the rest of a sql.begin transaction whose connection died, and keeps the connection in the pool', async () => {
    const { proxy, url } = await proxiedDatabase();
    const sql = openPostgres(url, { max: 2, onnotice: () => {}, backoff: () => 0.05 });
    try {
      await Promise.all([sql`select pg_sleep(0.05)`, sql`select pg_sleep(0.05)`]);
      let body!: Promise<string[]>;
      const tx = sql.begin(
        (tx) =>
          (body = (async () => {
            await tx`select 1`;
            await proxy.cut();
            await pollUntil('the transaction sees the cut', async () => (await settled(tx`select 1`)) === 'CONNECTION_CLOSED', { timeoutMs: 5_000 });
            // Before the fix a statement with parameters filled the pipeline and moved the dead
            // connection out of the pool's closed queue: the next statement hung, and the pool
            // never got the connection back.
            return Promise.all([settled(tx`select ${1}::int as x`), settled(tx`select ${2}::int as x`)]);
          })()),
      );
      expect(await within(settled(tx), 5_000)).toBe('CONNECTION_CLOSED');
      expect(await within(body, 5_000)).toEqual(['CONNECTION_CLOSED', 'CONNECTION_CLOSED']);
      await proxy.restore();
      // Both connections serve the pool again: two concurrent statements run on two backends.
      await pollUntil(
        'two backends answer',
        async () => {
          const rows = await Promise.all([0, 1].map(() => sql<{ pid: number }[]>`select pg_backend_pid() as pid, pg_sleep(0.1)`));
          return new Set(rows.map(([row]) => row!.pid)).size === 2;
        },
        { timeoutMs: 5_000 },
      );
    } finally {
      await sql.end({ timeout: 1 });
      await proxy.cut();
    }
  });

  it('gives a waiting reservation a connection when the busy one was terminated', async () => {
    const sql = openPostgres(ctx.databaseUrl, { max: 1, onnotice: () => {} });
    const killer = openPostgres(ctx.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
      const busy = settled(sql`select pg_sleep(30)`);
      await pollUntil('the only connection is busy', async () => {
        const [activity] = await killer<{ busy: boolean }[]>`select query like '%pg_sleep%' as busy from pg_stat_activity where pid = ${row!.pid}`;
        return activity?.busy === true;
      });
      // Waits in the pool's queue. Before the fix the reconnect took it out of the queue and
      // dropped it, so the promise never settled (porsager/postgres#1195).
      const waiting = sql.reserve();
      await killer`select pg_terminate_backend(${row!.pid})`;
      expect(await within(busy, 5_000)).not.toBe('hung');
      const reserved = await within(waiting, 5_000);
      if (reserved === 'hung') expect.fail('the reservation never got a connection');
      try {
        expect((await reserved<{ one: number }[]>`select 1 as one`)[0]?.one).toBe(1);
      } finally {
        reserved.release();
      }
    } finally {
      await sql.end({ timeout: 1 });
      await killer.end({ timeout: 1 });
    }
  });

  it('does not turn a failed array-types query into an unhandled rejection', async () => {
    // Every new connection first loads the array types. A 1 ms statement timeout cancels that
    // query, as a connection dying at that moment fails it; nothing awaited it, and the
    // unhandled rejection ended the process (porsager/postgres#1192).
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const sql = openPostgres(ctx.databaseUrl, { max: 1, onnotice: () => {}, connection: { statement_timeout: 1 } });
    try {
      // The types query fails before this one runs (and may time out too).
      await settled(sql`select 1`);
      // Node reports unhandled rejections once the microtasks have run, before the next macrotask.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await sql.end({ timeout: 1 });
    }
  });
});
