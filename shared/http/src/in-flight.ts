import type { RequestHandler } from 'express';

/**
 * Counts requests whose handling has not finished, so shutdown can wait for them before it
 * closes the clients they use. `server.close()` alone is not enough: a request whose caller
 * hung up no longer holds a connection, yet its handler keeps running (and writing). A request
 * counts as finished when its response is ended, which every handler and error path does,
 * even when the socket is already gone.
 */
export class InFlightRequests {
  private count = 0;
  private waiters: (() => void)[] = [];

  get size(): number {
    return this.count;
  }

  /**
   * Mount before the routes it should count, and only on routes whose handlers always end
   * their response (JSON APIs); an aborted file download may never call `res.end`.
   */
  middleware(): RequestHandler {
    return (_req, res, next) => {
      this.count++;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.count--;
        if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
      };
      const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
      res.end = ((...args: unknown[]) => {
        finish();
        return end(...args);
      }) as typeof res.end;
      next();
    };
  }

  /** Resolves once no request is in flight (immediately if none is). */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
