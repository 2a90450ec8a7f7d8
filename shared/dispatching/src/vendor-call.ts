import CircuitBreaker from 'opossum';
import pRetry, { AbortError } from 'p-retry';
import { vendorRetryDelayMs } from '@hub/domain';
import { asVendorError, VendorError, type VendorAccepted, type VendorRequest, type VendorSender } from '@hub/vendors';
import { inSpan, SpanKind, tracerOf } from '@hub/observability';
import type { SendRateCap } from './send-rate-cap.ts';

export interface VendorPolicy {
  /** Calls per dispatch, first included (SPEC §2: 3). */
  attempts: number;
  /** A single vendor call taking longer counts as a transient failure. */
  timeoutMs: number;
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
 * A dispatch that never reached the vendor: its breaker was open, or the worker is stopping.
 * It is not a failed dispatch (SPEC §2): the attempt goes back to PENDING until `retryAt`, its
 * retry count unchanged.
 */
export class NotSentError extends Error {
  readonly retryAt: Date;
  constructor(reason: string, retryAt: Date) {
    super(reason);
    this.name = 'NotSentError';
    this.retryAt = retryAt;
  }
}

/** The longest vendor Retry-After waited for inside one dispatch. */
export const MAX_RETRY_AFTER_MS = 10_000;

export interface SendOptions {
  /** Epoch ms the claim's lease runs out: no call starts that could not finish before it. */
  deadline?: number;
  /** True when the caller already took the first call's send slot (before its claim). */
  slotTaken?: boolean;
  /** True once the worker is stopping: no further call starts. */
  stopping?: () => boolean;
}

/**
 * One vendor behind its protections: a send-rate cap shared by every replica (bursts wait), a
 * circuit breaker (a vendor outage fails fast instead of tying up every worker), and in-dispatch
 * retries of transient errors only, 200/400/800 ms ±50 % or the vendor's Retry-After. Permanent
 * and invalid-recipient errors are not retried and do not count against the breaker: they are
 * about the message, not the vendor's health. A call only starts while the claim's lease can
 * cover it.
 */
export class ProtectedVendor {
  readonly name: string;
  private readonly sender: VendorSender;
  private readonly breaker: CircuitBreaker<[VendorRequest], VendorAccepted>;
  private readonly rateCap: SendRateCap | undefined;
  private readonly policy: VendorPolicy;
  private openedAt = 0;

  constructor(sender: VendorSender, policy: VendorPolicy, rateCap?: SendRateCap) {
    this.name = sender.name;
    this.sender = sender;
    this.policy = policy;
    this.rateCap = rateCap;
    this.breaker = new CircuitBreaker((request: VendorRequest) => sender.send(request), {
      name: sender.name,
      timeout: policy.timeoutMs,
      errorThresholdPercentage: policy.breaker.errorThresholdPercentage,
      volumeThreshold: policy.breaker.volumeThreshold,
      resetTimeout: policy.breaker.resetTimeoutMs,
      errorFilter: (err: unknown) => err instanceof VendorError && err.errorClass !== 'transient',
    });
    this.breaker.on('open', () => (this.openedAt = Date.now()));
  }

  /** Waits for a send slot of the vendor's rate cap (at once without a cap). */
  async acquire(): Promise<void> {
    await this.rateCap?.take();
  }

  /**
   * Resolves with the vendor's acceptance, or throws the final VendorError of this dispatch, or
   * NotSentError when no call of it reached the vendor.
   */
  async send(request: VendorRequest, options: SendOptions = {}): Promise<VendorAccepted> {
    let lastError: VendorError | undefined;
    let slotTaken = options.slotTaken ?? false;
    // Ends the dispatch without another call: a failed dispatch if a call already reached the
    // vendor (its last error), else one that was never sent.
    const stop = (reason: string, retryAt: Date) => new AbortError(lastError ?? new NotSentError(reason, retryAt));
    return pRetry(
      async () => {
        if (options.stopping?.()) throw stop('worker stopping', new Date());
        if (!slotTaken) await this.acquire();
        slotTaken = false;
        // A call that could outlive the lease might race the relay's recovery and send twice:
        // none starts once the lease has run out, and a retry only while a whole call fits.
        if (options.deadline !== undefined && Date.now() + (lastError ? this.policy.timeoutMs : 0) >= options.deadline) {
          throw stop('dispatch lease ran out before the vendor call', new Date());
        }
        // The quota's gate right before the call: no burst at the vendor after stalled claims, and
        // no wait that would let the call outlive the lease.
        if (this.rateCap && !(await this.rateCap.gate(options.deadline === undefined ? undefined : options.deadline - this.policy.timeoutMs))) {
          throw stop('dispatch lease ran out waiting for the send-rate gate', new Date());
        }
        try {
          // One span per call (the dispatch's span is the parent): retries show as siblings.
          return await inSpan(
            tracerOf('@hub/dispatching'),
            `${this.name} call`,
            { kind: SpanKind.CLIENT, attributes: { 'hub.vendor': this.name, 'hub.attempt_id': request.attemptId } },
            () => this.breaker.fire(request),
          );
        } catch (err) {
          if ((err as { code?: string } | null)?.code === 'EOPENBREAKER') throw stop(`circuit open for ${this.name}`, this.nextTrialAt());
          lastError = this.classify(err);
          // Only transient failures are worth another call inside this dispatch.
          throw lastError.errorClass === 'transient' ? lastError : new AbortError(lastError);
        }
      },
      {
        retries: Math.max(0, this.policy.attempts - 1),
        minTimeout: 0,
        onFailedAttempt: async ({ error, retriesLeft, attemptNumber }) => {
          if (retriesLeft <= 0) return;
          // The vendor's own Retry-After, when it gave one, over our backoff (SPEC §2). A wait the
          // lease cannot cover, or longer than MAX_RETRY_AFTER_MS, ends this dispatch instead
          // (a failed transient dispatch: the retry schedule takes over).
          const asked = error instanceof VendorError ? error.retryAfterMs : undefined;
          const waitMs = asked ?? vendorRetryDelayMs(attemptNumber, this.policy.random);
          const tooLate = options.deadline !== undefined && Date.now() + waitMs + this.policy.timeoutMs >= options.deadline;
          if (asked !== undefined && (asked > MAX_RETRY_AFTER_MS || tooLate)) throw lastError ?? error;
          await new Promise((resolve) => setTimeout(resolve, waitMs));
        },
      },
    ).catch((err: unknown) => {
      throw err instanceof NotSentError ? err : asVendorError(err);
    });
  }

  /** For metrics: true while the breaker fails fast. */
  isOpen(): boolean {
    return this.breaker.opened;
  }

  /** When an open breaker lets its next trial call through. */
  nextTrialAt(): Date {
    return new Date(Math.max(Date.now(), this.openedAt + this.policy.breaker.resetTimeoutMs));
  }

  async close(): Promise<void> {
    this.breaker.shutdown();
    await this.sender.close?.();
  }

  private classify(err: unknown): VendorError {
    const code = (err as { code?: string } | null)?.code;
    if (code === 'ETIMEDOUT' && !(err instanceof VendorError)) {
      return new VendorError('transient', `${this.name} did not answer within ${this.policy.timeoutMs} ms`, { cause: err });
    }
    return asVendorError(err);
  }
}
