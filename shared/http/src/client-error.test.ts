import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { answerClientError } from './problem.ts';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function start(withListener: boolean): Promise<number> {
  server = createServer((_req, res) => res.end('ok'));
  if (withListener) server.on('clientError', answerClientError);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Writes raw bytes and reads until the server closes the connection. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.end(Buffer.from(bytes, 'latin1'));
  });
}

const parse = (response: string) => {
  const [head, body] = response.split('\r\n\r\n');
  return { status: Number(head!.split(' ')[1]), head: head!, body: body ? JSON.parse(body) : undefined };
};

describe('answerClientError', () => {
  it('answers headers over the server limit with a problem+json 431', async () => {
    const port = await start(true);
    const res = parse(await raw(port, `GET /api/v1/x HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(res.status).toBe(431);
    expect(res.head).toContain('Content-Type: application/problem+json');
    expect(res.body).toMatchObject({ status: 431, code: 'REQUEST_HEADER_FIELDS_TOO_LARGE', path: '/api/v1/x' });
  });

  it('answers a control character in a header value with a problem+json 400', async () => {
    const port = await start(true);
    const res = parse(await raw(port, 'GET /x HTTP/1.1\r\nHost: a\r\nIdempotency-Key: a\u0000b\r\n\r\n'));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 400, code: 'BAD_REQUEST', message: 'malformed HTTP request' });
  });

  it('is needed: without it Node answers with a bare status line', async () => {
    const port = await start(false);
    const res = await raw(port, `GET /x HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(res).toBe('HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n');
  });
});
