import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request as httpRequest } from 'node:http';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { InFlightRequests } from './in-flight.ts';

describe('InFlightRequests', () => {
  it('is idle at once when nothing runs', async () => {
    await expect(new InFlightRequests().idle()).resolves.toBeUndefined();
  });

  it('waits for a handler whose caller already hung up', async () => {
    const inFlight = new InFlightRequests();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    const app = express();
    app.use(inFlight.middleware());
    app.get('/slow', async (_req, res) => {
      started();
      await gate;
      res.json({ ok: true });
    });
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const req = httpRequest({ host: '127.0.0.1', port, path: '/slow' });
    req.on('error', () => {});
    req.end();
    await handlerStarted;
    req.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // The connection is gone and the server closed, but the handler still runs.
    expect(inFlight.size).toBe(1);
    let idle = false;
    const waiting = inFlight.idle().then(() => (idle = true));
    await new Promise((r) => setImmediate(r));
    expect(idle).toBe(false);
    release();
    await waiting;
    expect(inFlight.size).toBe(0);
  });
});
