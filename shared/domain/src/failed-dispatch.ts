import type { Channel } from './channels.ts';
import { failureReason, type ErrorClass } from './failure.ts';

/** What a failed dispatch does to its attempt, and what follows from it (SPEC §2, §4). */
export interface FailedDispatch {
  /** `retry`: back to PENDING after a backoff; `exhaust`: the DLQ. */
  step: 'retry' | 'exhaust';
  /** The attempt's retry_count after this failure: failed dispatches so far. */
  retryCount: number;
  reason: string;
  /** A PUSH token the push service called unregistered is never used again. */
  disableDeviceToken: boolean;
  /**
   * Kakao's "substitute send" (SPEC §4): an AlimTalk attempt the vendor refused for good
   * (permanent or invalid recipient) becomes an SMS attempt, at most one. Not after transient
   * exhaustion or a lost lease: Kakao may have delivered it.
   */
  smsFallback: boolean;
}

/**
 * Decides a failed dispatch: a transient error is retried while dispatches remain; a permanent
 * or invalid-recipient error, or the last dispatch, exhausts the attempt at once.
 */
export function decideFailedDispatch(
  attempt: { channel: Channel; retryCount: number; maxRetry: number; fallbackOf: string | null },
  failure: { errorClass: ErrorClass; detail: string },
): FailedDispatch {
  const retryCount = attempt.retryCount + 1;
  const exhausted = failure.errorClass !== 'transient' || retryCount >= attempt.maxRetry;
  return {
    step: exhausted ? 'exhaust' : 'retry',
    retryCount,
    reason: failureReason(failure.errorClass, failure.detail),
    disableDeviceToken: exhausted && attempt.channel === 'PUSH' && failure.errorClass === 'invalid_recipient',
    smsFallback: failure.errorClass !== 'transient' && attempt.channel === 'KAKAO_ALIMTALK' && attempt.fallbackOf === null,
  };
}
