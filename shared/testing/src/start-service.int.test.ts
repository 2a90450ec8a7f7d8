// startService, which every process test starts its services with: a port taken before the
// service could listen on it is retried on another, and a service that dies says so at once.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from './context.ts';
import { freePort } from './ports.ts';
import { startService, type StartedService } from './process.ts';

let ctx: TestContext;
let squatter: net.Server;
let taken: number;
const held = new Set<net.Socket>();
const started: StartedService[] = [];

const adminEnv = () => ({ ...ctx.env, ADMIN_AUTH_TOKEN: 'start-service-test-token', SHUTDOWN_TIMEOUT_MS: '5000' });

beforeAll(async () => {
  ctx = await createTestContext();
  // Takes the port and holds every connection without answering, as a stuck process would.
  squatter = net.createServer((socket) => held.add(socket));
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  taken = (squatter.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const service of started) {
    service.process.kill('SIGTERM');
    await service.process.exited;
  }
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => squatter?.close(resolve));
  await ctx?.close();
});

describe('startService', () => {
  it('starts the service again on another port when the one it was given is taken', async () => {
    const offered: number[] = [];
    const ports = async () => {
      const port = offered.length === 0 ? taken : await freePort();
      offered.push(port);
      return port;
    };
    const service = await startService('admin-api', adminEnv(), { ports });
    started.push(service);
    expect(offered[0]).toBe(taken);
    expect(offered).toHaveLength(2);
    expect(service.port).toBe(offered[1]);
    expect((await fetch(`${service.base}/readyz`)).status).toBe(200);
  });

  it('gives up after three taken ports, with the output that says why', async () => {
    let offered = 0;
    const attempt = startService('admin-api', adminEnv(), { ports: async () => (offered++, taken) });
    attempt.then((service) => started.push(service), () => {});
    await expect(attempt).rejects.toThrow(/admin-api exited \(1\) before it was ready[\s\S]*EADDRINUSE/);
    expect(offered).toBe(3);
  });

  it('fails as soon as the service exits for another reason, not at the readiness deadline', async () => {
    const attempt = startService('admin-api', { ...adminEnv(), SHUTDOWN_TIMEOUT_MS: 'soon' }, { timeoutMs: 600_000 });
    attempt.then((service) => started.push(service), () => {}); // stopped after all if it did start
    await expect(attempt).rejects.toThrow(/admin-api exited \(78\) before it was ready[\s\S]*SHUTDOWN_TIMEOUT_MS/);
  });
});
