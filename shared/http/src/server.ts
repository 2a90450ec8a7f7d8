import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

export interface RunningServer {
  server: Server;
  port: number;
  /** Stops accepting connections, lets in-flight requests finish, then closes idle sockets. */
  close: () => Promise<void>;
}

/** Listens on `port` (0 = any free port) and resolves once bound. */
export async function listen(app: RequestListener, port: number, host = '0.0.0.0'): Promise<RunningServer> {
  const server = createServer(app);
  // Keep-alive longer than typical load balancer idle timeouts avoids 502s on reused sockets.
  server.keepAliveTimeout = 65_000;
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
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
