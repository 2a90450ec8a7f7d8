import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerClientError } from './problem.ts';

export interface RunningServer {
  server: Server;
  port: number;
  /**
   * Stops accepting connections, closes idle ones, lets in-flight requests finish and closes
   * their connections after the response; resolves once no connection is left. With
   * `drainDelayMs`, it first keeps serving that long as usual: load balancers see /readyz fail
   * and stop sending, and requests already on their way are answered instead of reset. Then each
   * response closes its connection, and idle connections are closed after a short grace.
   */
  close: (options?: { drainDelayMs?: number }) => Promise<void>;
}

/**
 * Makes this response the last on its keep-alive connection: `Connection: close` if its headers
 * are not out yet, else the socket is ended after it. Otherwise a connection busy when the server
 * closes turns idle after its response and stays open until the client hangs up (up to the
 * keep-alive timeout), and `server.close()` waits for it.
 */
function lastOnConnection(res: ServerResponse): void {
  if (!res.headersSent) {
    res.setHeader('Connection', 'close');
    return;
  }
  const socket = res.socket;
  res.once('finish', () => socket?.end());
}

/** With a drain delay, how long a connection accepted before the listener closed may take to send its request. */
const IDLE_GRACE_MS = 500;

/** Listens on `port` (0 = any free port) and resolves once bound. */
export async function listen(app: RequestListener, port: number, host = '0.0.0.0'): Promise<RunningServer> {
  const server = createServer();
  // Keep-alive longer than typical load balancer idle timeouts avoids 502s on reused sockets.
  server.keepAliveTimeout = 65_000;
  let closing = false;
  const open = new Set<ServerResponse>();
  server.on('request', (_req, res: ServerResponse) => {
    if (closing) lastOnConnection(res);
    open.add(res);
    res.once('close', () => open.delete(res));
  });
  server.on('request', app);
  // Requests Node's parser refuses (an oversized header, control bytes) get problem+json too.
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: async (options = {}) => {
      // The drain: served as usual, keep-alive connections kept (asking clients to reconnect
      // would only send new connections to a listener about to close).
      if (options.drainDelayMs) await new Promise((resolve) => setTimeout(resolve, options.drainDelayMs));
      closing = true;
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        for (const res of open) lastOnConnection(res);
        // A connection accepted just before the listener closed may not have sent its request
        // yet (to Node it is idle): closing it now would reset a request already on its way.
        // Every response now closes its connection, so what is still idle after a moment is a
        // client that sent nothing.
        if (options.drainDelayMs) setTimeout(() => server.closeIdleConnections(), IDLE_GRACE_MS).unref();
        else server.closeIdleConnections();
      });
    },
  };
}
