// ingest-api as a real process under load: SIGTERM must answer every request that reached it,
// not reset them (SPEC §1: stop intake, drain in-flight work).
import { Agent, request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, pollUntil, startService, type ServiceProcess, type TestContext } from '@hub/testing';

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

type Outcome = { status: number } | { error: string };

/** One GET on a keep-alive agent; a reset or hang-up is reported as its error code. */
function get(agent: Agent, base: string, path: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = httpRequest(`${base}${path}`, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

describe('ingest-api on SIGTERM', () => {
  it('answers every request already on its way instead of resetting it, then exits 0', async () => {
    const { process: ingest, base } = await startService('ingest-api', { ...ctx.env, LOG_LEVEL: 'info', SHUTDOWN_DRAIN_DELAY_MS: '1000' });
    processes.push(ingest);
    const recipient = `shutdown-${crypto.randomUUID()}`;
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    // Warm keep-alive connections, as a busy client holds them.
    await Promise.all(Array.from({ length: 32 }, () => get(agent, base, `/api/v1/recipients/${recipient}`)));
    const outcomes: Promise<Outcome>[] = [];
    let sending = true;
    // A steady stream of requests across the signal: some on busy connections, some queued.
    const stream = (async () => {
      while (sending) {
        outcomes.push(get(agent, base, `/api/v1/recipients/${recipient}`));
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    await pollUntil('requests in flight', () => outcomes.length >= 100);
    ingest.kill('SIGTERM');
    await pollUntil('ingest-api shutting down', () => ingest.output().includes('"msg":"shutting down"'));
    // Keep sending through the drain; after the listener closes, new connections are refused.
    await new Promise((resolve) => setTimeout(resolve, 500));
    sending = false;
    await stream;
    const results = await Promise.all(outcomes);
    agent.destroy();
    expect(await ingest.exited).toBe(0);
    const answered = results.filter((r) => 'status' in r);
    const resets = results.filter((r) => 'error' in r && r.error !== 'ECONNREFUSED');
    expect(answered.length).toBeGreaterThan(100);
    // Every request that reached the service got its answer (404: no such recipient).
    expect(resets, JSON.stringify(resets.slice(0, 5))).toEqual([]);
    expect(new Set(answered.map((r) => (r as { status: number }).status))).toEqual(new Set([404]));
  }, 60_000);
});
