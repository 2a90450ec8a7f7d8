import { Agent, request as httpRequest } from 'node:http';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { listen } from './server.ts';

describe('listen', () => {
  it('closes once a request in flight on a keep-alive connection is answered', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    const app = express();
    app.get('/slow', async (_req, res) => {
      started();
      await gate;
      res.json({ ok: true });
    });
    const running = await listen(app, 0, '127.0.0.1');
    const agent = new Agent({ keepAlive: true });
    const answer = new Promise<{ status: number | undefined; connection: string | undefined; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: running.port, path: '/slow', agent }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, body }));
      });
      req.on('error', reject);
      req.end();
    });
    await handlerStarted;

    let closed = false;
    const closing = running.close().then(() => (closed = true));
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    release();

    expect(await answer).toEqual({ status: 200, connection: 'close', body: '{"ok":true}' });
    // The client's agent would keep the connection for reuse; the server ends it instead of
    // waiting out the keep-alive timeout.
    await closing;
    agent.destroy();
  });
});
