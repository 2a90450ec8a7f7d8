import CircuitBreaker from 'opossum';
import pRetry, { AbortError } from 'p-retry';
import { vendorRetryDelayMs } from '@hub/domain';
import { asVendorError, VendorError, type VendorAccepted, type VendorRequest, type VendorSender } from '@hub/vendors';
import { TokenBucket } from './token-bucket.ts';

export interface VendorPolicy {
  /** Calls per dispatch, first included (SPEC §2: 3). */
  attempts: number;
  /** A single vendor call taking longer counts as a transient failure. */
  timeoutMs: number;
  /** Sends per second allowed to this vendor (0 = no cap). */
  ratePerSecond: number;
  breaker: {
    /** Failure percentage over the rolling window that opens the circuit. */
    errorThresholdPercentage: number;
    /** Calls in the window before the percentage is considered. */
    volumeThreshold: number;
    /** How long an open circuit fails fast before one trial call. */
    resetTimeoutMs: number;
  };
  random?: () => number;
}

/**
 * One vendor behind its protections: a rate cap (bursts wait), a circuit breaker (a vendor
 * outage fails fast instead of tying up every worker), and in-dispatch retries of transient
 * errors only, 200/400/800 ms ±50 %. Permanent and invalid-recipient errors are not retried
 * and do not count against the breaker: they are about the message, not the vendor's health.
 */
export class ProtectedVendor {
  readonly name: string;
  private readonly sender: VendorSender;
  private readonly breaker: CircuitBreaker<[VendorRequest], VendorAccepted>;
  private readonly bucket: TokenBucket;
  private readonly policy: VendorPolicy;

  constructor(sender: VendorSender, policy: VendorPolicy) {
    this.name = sender.name;
    this.sender = sender;
    this.policy = policy;
    this.bucket = new TokenBucket({ ratePerSecond: policy.ratePerSecond });
    this.breaker = new CircuitBreaker((request: VendorRequest) => sender.send(request), {
      name: sender.name,
      timeout: policy.timeoutMs,
      errorThresholdPercentage: policy.breaker.errorThresholdPercentage,
      volumeThreshold: policy.breaker.volumeThreshold,
      resetTimeout: policy.breaker.resetTimeoutMs,
      errorFilter: (err: unknown) => err instanceof VendorError && err.errorClass !== 'transient',
    });
  }

  /** Resolves with the vendor's acceptance or throws the final VendorError of this dispatch. */
  async send(request: VendorRequest): Promise<VendorAccepted> {
    return pRetry(
      async () => {
        await this.bucket.take();
        try {
          return await this.breaker.fire(request);
        } catch (err) {
          const error = this.classify(err);
          // Only transient failures are worth another call inside this dispatch.
          throw error.errorClass === 'transient' ? error : new AbortError(error);
        }
      },
      {
        retries: Math.max(0, this.policy.attempts - 1),
        minTimeout: 0,
        onFailedAttempt: async ({ retriesLeft, attemptNumber }) => {
          if (retriesLeft > 0) {
            await new Promise((resolve) => setTimeout(resolve, vendorRetryDelayMs(attemptNumber, this.policy.random)));
          }
        },
      },
    ).catch((err: unknown) => {
      throw asVendorError(err);
    });
  }

  /** For readiness and metrics: true while the breaker fails fast. */
  isOpen(): boolean {
    return this.breaker.opened;
  }

  async close(): Promise<void> {
    this.breaker.shutdown();
    await this.sender.close?.();
  }

  private classify(err: unknown): VendorError {
    const code = (err as { code?: string } | null)?.code;
    if (code === 'EOPENBREAKER') return new VendorError('transient', `circuit open for ${this.name}`, { cause: err });
    if (code === 'ETIMEDOUT' && !(err instanceof VendorError)) {
      return new VendorError('transient', `${this.name} did not answer within ${this.policy.timeoutMs} ms`, { cause: err });
    }
    return asVendorError(err);
  }
}
