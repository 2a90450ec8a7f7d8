import type { Logger } from 'pino';

type Step = { name: string; run: () => Promise<void> | void };

export interface SignalSource {
  on(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
}

/**
 * Graceful shutdown: the first SIGTERM/SIGINT runs the registered steps in reverse order of
 * registration (stop intake before closing the clients it uses) within a deadline; a second
 * signal, or the deadline, forces exit with code 1.
 */
export class ShutdownManager {
  private readonly steps: Step[] = [];
  private inProgress: Promise<number> | undefined;
  private readonly deps: { logger: Logger; timeoutMs: number; exit: (code: number) => void };

  constructor(deps: { logger: Logger; timeoutMs: number; exit: (code: number) => void }) {
    this.deps = deps;
  }

  /** Registers a step; steps run last-registered first. */
  register(name: string, run: Step['run']): this {
    this.steps.push({ name, run });
    return this;
  }

  listen(source: SignalSource): void {
    const onSignal = (signal: string) => {
      if (this.inProgress) {
        this.deps.logger.warn({ signal }, 'second signal, forcing exit');
        this.deps.exit(1);
        return;
      }
      this.deps.logger.info({ signal, timeoutMs: this.deps.timeoutMs }, 'shutting down');
      void this.shutdown().then((code) => this.deps.exit(code));
    };
    source.on('SIGTERM', () => onSignal('SIGTERM'));
    source.on('SIGINT', () => onSignal('SIGINT'));
  }

  /** Runs the steps once; resolves with the exit code (0 when every step finished in time). */
  shutdown(): Promise<number> {
    this.inProgress ??= this.runSteps();
    return this.inProgress;
  }

  private async runSteps(): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        this.deps.logger.error({ timeoutMs: this.deps.timeoutMs }, 'shutdown deadline passed, forcing exit');
        resolve(1);
      }, this.deps.timeoutMs);
      timer.unref();
    });
    const work = (async () => {
      let code = 0;
      for (const step of [...this.steps].reverse()) {
        const started = Date.now();
        try {
          await step.run();
          this.deps.logger.info({ step: step.name, ms: Date.now() - started }, 'shutdown step done');
        } catch (err) {
          code = 1;
          this.deps.logger.error({ step: step.name, err }, 'shutdown step failed');
        }
      }
      return code;
    })();
    const code = await Promise.race([work, deadline]);
    clearTimeout(timer);
    return code;
  }
}
