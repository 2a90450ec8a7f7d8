import type { Channel, ErrorClass, Kind } from '@hub/domain';

/** What a dispatcher hands a vendor: one message to one address. */
export interface VendorRequest {
  /** Our attempt id: sent as the vendor's idempotency/reference key where the API has one. */
  attemptId: string;
  channel: Channel;
  address: string;
  title: string;
  body: string;
  /** EMAIL: the HTML part next to the text `body` (values already escaped); absent = text only. */
  htmlBody?: string | null;
  /** The notification's kind and recipient: MARKETING mail carries a one-click unsubscribe link for them. */
  kind?: Kind;
  recipientId?: string;
  /** The notification's payload (string map): PUSH sends it as the message's `data`. */
  payload?: Record<string, string> | undefined;
  /** PUSH: the platform the token was registered for (android, apns or webpush block); null if unknown. */
  platform?: DevicePlatform | null | undefined;
  /** KAKAO_ALIMTALK: the approved template's code at the provider (templates.provider_template_code). */
  providerTemplateCode?: string | null | undefined;
  /** KAKAO_ALIMTALK: the template's buttons, variables rendered. */
  buttons?: AlimtalkButton[] | null | undefined;
}

/** The platform a PUSH token was registered for (device_tokens.platform). */
export type DevicePlatform = 'ANDROID' | 'IOS' | 'WEB';

/**
 * One button of a Kakao AlimTalk message, as NAVER SENS takes it; it must match a button of the
 * approved template. WL web link (linkMobile, linkPc), AL app link (schemeIos, schemeAndroid),
 * DS delivery tracking, BK bot keyword, MD message delivery, AC channel add, BC/BT chat handover,
 * BF business form.
 */
export interface AlimtalkButton {
  type: string;
  name: string;
  linkMobile?: string | undefined;
  linkPc?: string | undefined;
  schemeIos?: string | undefined;
  schemeAndroid?: string | undefined;
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
  /** How long the vendor asked us to wait before the next call (its Retry-After), when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(errorClass: ErrorClass, detail: string, options?: { cause?: unknown; retryAfterMs?: number | undefined }) {
    super(`${errorClass}: ${detail}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VendorError';
    this.errorClass = errorClass;
    this.detail = detail;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** Anything thrown by a sender that is not a VendorError (network reset, bug) counts as transient. */
export function asVendorError(err: unknown): VendorError {
  if (err instanceof VendorError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new VendorError('transient', message.slice(0, 300), { cause: err });
}
