import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DeliveryStatus } from '@hub/domain';
import { unauthorized } from '@hub/http';

const reject = (message: string) => unauthorized('UNAUTHORIZED', message);

/**
 * Twilio's request signature, as Twilio documents it ("Validating requests are coming from
 * Twilio"): the full URL Twilio called, followed by every POST parameter sorted by name, each
 * name immediately followed by its value (no delimiters; a repeated name contributes each of its
 * distinct values, sorted, as Twilio's own validators do), HMAC-SHA1 keyed with the account's
 * auth token, base64.
 */
export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const names = [...new Set(params.keys())].sort();
  let data = url;
  for (const name of names) {
    for (const value of [...new Set(params.getAll(name))].sort()) data += name + value;
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/**
 * Checks `X-Twilio-Signature` over the URL rebuilt from the configured public base (Twilio signs
 * the URL it called, which a proxy in front hides) and the form parameters as received, in
 * constant time. Every failure is a 401; no auth token or public URL configured refuses all
 * (fail closed).
 */
export function verifyTwilioSignature(
  config: { TWILIO_AUTH_TOKEN?: string | undefined; PUBLIC_BASE_URL?: string | undefined },
  input: { signature: string | undefined; originalUrl: string; params: URLSearchParams },
): void {
  if (!config.TWILIO_AUTH_TOKEN || !config.PUBLIC_BASE_URL) throw reject('twilio status callbacks are not configured');
  if (!input.signature || !/^[A-Za-z0-9+/]{27}=$/.test(input.signature)) throw reject('X-Twilio-Signature must be a base64 HMAC-SHA1');
  const url = `${config.PUBLIC_BASE_URL.replace(/\/+$/, '')}${input.originalUrl}`;
  const expected = Buffer.from(twilioSignature(config.TWILIO_AUTH_TOKEN, url, input.params), 'base64');
  const given = Buffer.from(input.signature, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw reject('signature mismatch');
}

/**
 * Error codes that mean the number cannot receive SMS at all, so the address is suppressed like
 * a hard-bounced mailbox: 30005 unknown destination handset (the number does not exist), 30006
 * landline or unreachable carrier. 30003 (handset unreachable: switched off, out of coverage)
 * and everything else is a failure of this message only (UNDELIVERED).
 */
export const TWILIO_PERMANENT_ERROR_CODES: ReadonlySet<string> = new Set(['30005', '30006']);

/**
 * What a `MessageStatus` means for the attempt's delivery status: delivered → DELIVERED;
 * undelivered or failed → UNDELIVERED with the error code as the reason, or BOUNCED for a number
 * that cannot receive SMS; anything else (queued, sending, sent, accepted, scheduled, read,
 * canceled) is progress before the final word and changes nothing (`null`).
 */
export function twilioDeliveryStatus(messageStatus: string, errorCode: string | undefined): { status: DeliveryStatus; reason: string | null } | null {
  switch (messageStatus) {
    case 'delivered':
      return { status: 'DELIVERED', reason: null };
    case 'undelivered':
    case 'failed': {
      const reason = `twilio ${messageStatus}${errorCode ? ` ${errorCode}` : ''}`;
      return { status: errorCode && TWILIO_PERMANENT_ERROR_CODES.has(errorCode) ? 'BOUNCED' : 'UNDELIVERED', reason };
    }
    default:
      return null;
  }
}
