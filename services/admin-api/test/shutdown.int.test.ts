// admin-api as a real process: on SIGTERM it finishes the requests in flight before it closes
// its Postgres and Redis clients, then exits 0. A concurrent transaction (think: a migration)
// holds the lock the handlers need, so they are provably still running when the signal arrives.
import { request as httpRequest } from 'node:http';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, pollUntil, startService, type ServiceProcess, type TestContext } from '@hub/testing';
import { seedAttempts, TOKEN } from './harness.ts';

let ctx: TestContext;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
});
afterAll(async () => {
  for (const p of processes) p.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  await ctx?.close();
});

async function startAdmin(): Promise<{ admin: ServiceProcess; base: string }> {
  // info: the test waits for the "shutting down" line to know the signal was handled.
  const { process: admin, base } = await startService('admin-api', { ...ctx.env, ADMIN_AUTH_TOKEN: TOKEN, LOG_LEVEL: 'info' });
  processes.push(admin);
  return { admin, base };
}

/** Holds `ACCESS EXCLUSIVE` on delivery_attempts (every DLQ read waits) until `release`. */
async function lockDeliveryAttempts(): Promise<{ release: () => Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const lockTaken = new Promise<void>((resolve) => (locked = resolve));
  const transaction = ctx.database.db.transaction().execute(async (tx) => {
    await sql`lock table delivery_attempts in access exclusive mode`.execute(tx);
    locked();
    await released;
  });
  await Promise.race([lockTaken, transaction]);
  return {
    release: async () => {
      release();
      await transaction;
    },
  };
}

/** Resolves once a query of admin-api waits for a lock in this file's database. */
async function adminQueryWaitsForLock(): Promise<void> {
  await pollUntil('an admin-api query waits for the lock', async () => {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and application_name = 'admin-api' and wait_event_type = 'Lock'`.execute(ctx.database.db);
    return rows[0]!.n > 0;
  });
}

/** Sends SIGTERM and resolves once the process has begun its shutdown. */
async function terminate(admin: ServiceProcess): Promise<void> {
  admin.kill('SIGTERM');
  await pollUntil('admin-api shutting down', () => admin.output().includes('"msg":"shutting down"'));
  // The handler cannot finish while the lock is held, so neither can the shutdown.
  expect(admin.child.exitCode).toBeNull();
}

/** The handler logged its dry run before shutdown closed the Redis and Postgres clients. */
function expectHandlerDoneBeforeClientsClosed(output: string): void {
  const handlerDone = output.indexOf('"msg":"dlq bulk dry run"');
  expect(handlerDone, output).toBeGreaterThan(-1);
  expect(handlerDone, output).toBeLessThan(output.indexOf('"step":"close redis"'));
  expect(handlerDone, output).toBeLessThan(output.indexOf('"step":"close postgres"'));
}

const dryRunAudits = async () =>
  (await ctx.database.db.selectFrom('audit_events').select('details').where('action', '=', 'DLQ_BULK_REPLAY_DRYRUN').execute()).map(
    (row) => (row.details as { filters: { channel: string } }).filters.channel,
  );

describe('admin-api on SIGTERM', () => {
  it('answers a request that is in flight with 200, then exits 0', async () => {
    await seedAttempts(ctx.database.db, { count: 3, channel: 'EMAIL' });
    const { admin, base } = await startAdmin();
    const lock = await lockDeliveryAttempts();
    const answer = fetch(`${base}/api/v1/admin/dlq/bulk-replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-token': TOKEN },
      body: JSON.stringify({ channel: 'EMAIL' }),
    });
    await adminQueryWaitsForLock();

    await terminate(admin);
    await lock.release();

    const res = await answer;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ mode: 'DRY_RUN', estimatedCount: 3 });
    expect(await admin.exited).toBe(0);
    expectHandlerDoneBeforeClientsClosed(admin.output());
    expect(admin.output()).not.toContain('unhandled request error');
  });

  it('lets the handler of a caller that hung up finish its writes before closing the clients, then exits 0', async () => {
    await seedAttempts(ctx.database.db, { count: 2, channel: 'SMS' });
    const { admin, base } = await startAdmin();
    const lock = await lockDeliveryAttempts();
    const body = JSON.stringify({ channel: 'SMS' });
    const caller = httpRequest(`${base}/api/v1/admin/dlq/bulk-replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-admin-token': TOKEN },
    });
    caller.on('error', () => {});
    caller.end(body);
    await adminQueryWaitsForLock();
    caller.destroy();

    await terminate(admin);
    await lock.release();

    expect(await admin.exited).toBe(0);
    // No connection held the server open: only the in-flight count kept the clients from closing.
    expectHandlerDoneBeforeClientsClosed(admin.output());
    expect(await dryRunAudits()).toContain('SMS');
    expect(admin.output()).not.toContain('unhandled request error');
  });
});
