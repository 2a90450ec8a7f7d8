export interface DependencyCheck {
  name: string;
  /** Resolves when the dependency answers; rejects (or times out) otherwise. */
  check: () => Promise<void>;
}

export interface ReadinessReport {
  ready: boolean;
  shuttingDown: boolean;
  checks: Record<string, 'up' | 'down'>;
}

/**
 * `/readyz` state: every registered dependency must answer within the timeout, and the process
 * must not be shutting down (so a load balancer stops routing to a draining instance).
 */
export class Readiness {
  private readonly checks: DependencyCheck[] = [];
  private shuttingDown = false;
  private readonly timeoutMs: number;

  constructor(timeoutMs = 2_000) {
    this.timeoutMs = timeoutMs;
  }

  add(check: DependencyCheck): this {
    this.checks.push(check);
    return this;
  }

  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  async report(): Promise<ReadinessReport> {
    const results = await Promise.all(
      this.checks.map(async ({ name, check }) => {
        const ok = await withTimeout(check(), this.timeoutMs).then(
          () => true,
          () => false,
        );
        return [name, ok ? 'up' : 'down'] as const;
      }),
    );
    const checks = Object.fromEntries(results);
    const ready = !this.shuttingDown && results.every(([, state]) => state === 'up');
    return { ready, shuttingDown: this.shuttingDown, checks };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
