import type { Channel, ErrorClass } from '@hub/domain';

/** What a dispatcher hands a vendor: one message to one address. */
export interface VendorRequest {
  /** Our attempt id: sent as the vendor's idempotency/reference key where the API has one. */
  attemptId: string;
  channel: Channel;
  address: string;
  title: string;
  body: string;
}

export interface VendorAccepted {
  /**
   * The vendor's id for the message (receipts refer to it); null when the vendor accepted it
   * without one: still a success, never a reason to send again (SPEC §2).
   */
  vendorMessageId: string | null;
}

/** Sends one message; resolves when the vendor accepted it, throws VendorError otherwise. */
export interface VendorSender {
  /** Stable vendor name (metrics, breaker, rate limiter): fcm, ses, smtp, twilio, kakao, mock-*. */
  readonly name: string;
  send(request: VendorRequest): Promise<VendorAccepted>;
  close?(): Promise<void>;
}

/**
 * A vendor refusal, classified (SPEC §2): `transient` is worth retrying (throttling, 5xx,
 * timeouts), `permanent` never is (rejected content, bad credentials), `invalid_recipient`
 * means the address itself is dead (a PUSH token then gets disabled).
 */
export class VendorError extends Error {
  readonly errorClass: ErrorClass;
  readonly detail: string;
  constructor(errorClass: ErrorClass, detail: string, options?: { cause?: unknown }) {
    super(`${errorClass}: ${detail}`, options);
    this.name = 'VendorError';
    this.errorClass = errorClass;
    this.detail = detail;
  }
}

/** Anything thrown by a sender that is not a VendorError (network reset, bug) counts as transient. */
export function asVendorError(err: unknown): VendorError {
  if (err instanceof VendorError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new VendorError('transient', message.slice(0, 300), { cause: err });
}
