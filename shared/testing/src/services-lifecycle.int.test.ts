// Every deployable answers health, readiness and metrics, reports a lost dependency on /readyz,
// drains on SIGTERM with exit code 0, and refuses to start on a bad environment variable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from './context.ts';
import { pollUntil } from './poll.ts';
import { freePort } from './ports.ts';
import { spawnService, type ServiceProcess } from './process.ts';
import { TcpProxy } from './tcp-proxy.ts';

const SERVICES = [
  'ingest-api',
  'admin-api',
  'outbox-relay',
  'dispatcher-push',
  'dispatcher-email',
  'dispatcher-sms',
  'dispatcher-kakao',
] as const;

let ctx: TestContext;
let proxy: TcpProxy;
const running = new Map<string, { process: ServiceProcess; port: number }>();

function serviceEnv(port: number, databaseUrl: string): Record<string, string> {
  return {
    ...ctx.env,
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    NODE_OPTIONS: '--disable-warning=TimeoutNegativeWarning',
    SHUTDOWN_TIMEOUT_MS: '15000',
    ADMIN_AUTH_TOKEN: 'lifecycle-test-token',
    VENDOR_MODE: 'mock',
  };
}

async function status(port: number, path: string): Promise<{ code: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { code: response.status, body: await response.text() };
}

beforeAll(async () => {
  ctx = await createTestContext();
  const db = new URL(ctx.databaseUrl);
  proxy = new TcpProxy({ host: db.hostname, port: Number(db.port || 5432) });
  await proxy.start();
  const proxied = new URL(ctx.databaseUrl);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  for (const service of SERVICES) {
    const port = await freePort();
    running.set(service, { process: spawnService(service, serviceEnv(port, proxied.toString())), port });
  }
});

afterAll(async () => {
  for (const { process } of running.values()) process.kill('SIGKILL');
  await proxy?.cut();
  await ctx?.close();
});

describe('the seven services', () => {
  it('answer /healthz, /readyz and /metrics once started', async () => {
    for (const [service, { port, process }] of running) {
      await pollUntil(
        `${service} ready`,
        async () => (await status(port, '/readyz')).code === 200,
        { timeoutMs: 60_000, intervalMs: 200 },
      ).catch((err) => {
        throw new Error(`${service} never became ready; output:\n${process.output()}`, { cause: err });
      });
      expect((await status(port, '/healthz')).code).toBe(200);
      const metrics = await status(port, '/metrics');
      expect(metrics.code).toBe(200);
      expect(metrics.body).toContain(`process_cpu_user_seconds_total{service="${service}"}`);
    }
  });

  it('report 503 on /readyz while Postgres is unreachable and 200 when it is back', async () => {
    await proxy.cut();
    for (const [service, { port }] of running) {
      const body = await pollUntil(`${service} not ready`, async () => {
        const r = await status(port, '/readyz');
        return r.code === 503 ? r.body : undefined;
      }, { timeoutMs: 20_000, intervalMs: 200 });
      expect(JSON.parse(body).checks.postgres).toBe('down');
      expect((await status(port, '/healthz')).code).toBe(200);
    }
    await proxy.restore();
    for (const [service, { port }] of running) {
      // A generous deadline: this asserts recovery, not its speed, and CI shares two cores.
      await pollUntil(`${service} ready again`, async () => (await status(port, '/readyz')).code === 200, {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
    }
  });

  it('exit with code 0 on SIGTERM', async () => {
    for (const { process } of running.values()) process.kill('SIGTERM');
    for (const [service, { process }] of running) {
      const code = await Promise.race([
        process.exited,
        new Promise<string>((resolve) => setTimeout(() => resolve('still running after 20 s'), 20_000)),
      ]);
      expect(code, `${service} exit; output:\n${process.output()}`).toBe(0);
    }
  });

  it('refuse to start on a bad environment variable, naming it', async () => {
    for (const service of SERVICES) {
      const child = spawnService(service, { ...serviceEnv(1, ctx.databaseUrl), PORT: 'not-a-port' });
      expect(await child.exited, service).toBe(78);
      expect(child.output()).toContain('PORT');
    }
  });
});
