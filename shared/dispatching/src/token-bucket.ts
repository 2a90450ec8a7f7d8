/**
 * Per-vendor send-rate cap. Vendors enforce per-second quotas (SES, Twilio, Kakao BSPs) and
 * answer a burst above them with throttling errors; waiting here instead turns a burst into a
 * queue. Callers are served in arrival order. `ratePerSecond` 0 means no cap.
 */
export class TokenBucket {
  private readonly rate: number;
  private readonly capacity: number;
  private tokens: number;
  private updatedAt: number;
  private readonly waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(options: { ratePerSecond: number; burst?: number; now?: () => number }) {
    this.rate = options.ratePerSecond;
    this.capacity = Math.max(1, options.burst ?? options.ratePerSecond);
    this.tokens = this.capacity;
    this.now = options.now ?? (() => performance.now());
    this.updatedAt = this.now();
  }

  /** Resolves when a send may start. */
  take(): Promise<void> {
    if (this.rate <= 0) return Promise.resolve();
    this.refill();
    if (this.waiters.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.schedule();
    });
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 1_000) * this.rate);
    this.updatedAt = now;
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(1, Math.ceil(((1 - this.tokens) / this.rate) * 1_000));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      while (this.waiters.length > 0 && this.tokens >= 1) {
        this.tokens -= 1;
        this.waiters.shift()!();
      }
      if (this.waiters.length > 0) this.schedule();
    }, wait);
  }
}
