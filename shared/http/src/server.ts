import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
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
 * Makes this response the last on its keep-alive connection (`Connection: close`) if its headers
 * are not out yet. A response already under way leaves its connection idle afterwards, and the
 * idle sweep of close() ends it: ending the socket right after the response would reset the
 * request a keep-alive client sends next on it.
 */
function lastOnConnection(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
}

/**
 * After the listener closed, idle keep-alive connections are closed only once no request has
 * arrived for this long. Closing an idle connection races a client that picks it for its next
 * request at that moment (a reset; the chaos suite counted 1-3 a run, with a 500 ms or 5 s idle
 * threshold). While requests still arrive, a client is still using its connections: each is
 * answered with `Connection: close`, race-free, and the pool drains that way. Once requests stop
 * (the load balancer took the instance out), nobody is about to use the idle ones.
 */
const QUIET_MS = 1_000;

/** Listens on `port` (0 = any free port) and resolves once bound. */
export async function listen(app: RequestListener, port: number, host = '0.0.0.0'): Promise<RunningServer> {
  const server = createServer();
  // Keep-alive longer than typical load balancer idle timeouts avoids 502s on reused sockets.
  server.keepAliveTimeout = 65_000;
  let closing = false;
  const open = new Set<ServerResponse>();
  // Per connection: requests under way, and when it last finished one (for the idle sweep).
  const connections = new Map<Socket, { busy: number; idleSince: number }>();
  server.on('connection', (socket: Socket) => {
    connections.set(socket, { busy: 0, idleSince: Date.now() });
    socket.once('close', () => connections.delete(socket));
  });
  let lastRequestAt = Date.now();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    lastRequestAt = Date.now();
    if (closing) lastOnConnection(res);
    open.add(res);
    const connection = connections.get(req.socket);
    if (connection) connection.busy++;
    res.once('close', () => {
      open.delete(res);
      if (connection) {
        connection.busy--;
        connection.idleSince = Date.now();
      }
    });
  });
  /** Closes connections idle for at least `minIdleMs`: a busy client's next request is not cut off. */
  const closeIdle = (minIdleMs: number) => {
    const now = Date.now();
    for (const [socket, c] of connections) if (c.busy === 0 && now - c.idleSince >= minIdleMs) socket.destroy();
  };
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
      // Closing the listener makes the kernel reset every connection still in its accept queue
      // (handshake done, not yet accepted): with a busy event loop those waited for the next poll
      // phase (a chaos run with two replicas counted 15 such resets). setImmediate runs after this
      // iteration's poll phase, which accepts everything queued, so the window is what arrives
      // during one check phase.
      await new Promise((resolve) => setImmediate(resolve));
      closing = true;
      await new Promise<void>((resolve, reject) => {
        // Connections are left to their next response (Connection: close) while requests keep
        // arriving; once none has for QUIET_MS, the idle ones are closed.
        const sweep = setInterval(() => {
          if (Date.now() - lastRequestAt >= QUIET_MS) closeIdle(QUIET_MS);
        }, 100);
        // net.Server's close, not http.Server's: since Node 19 the latter also closes idle
        // connections at once, resetting requests already sent on a kept-alive connection.
        NetServer.prototype.close.call(server, (err?: Error) => {
          clearInterval(sweep);
          if (err) reject(err);
          else resolve();
        });
        for (const res of open) lastOnConnection(res);
        // Without a drain delay nobody is still on the way: idle connections go at once.
        if (!options.drainDelayMs) closeIdle(0);
      });
    },
  };
}
