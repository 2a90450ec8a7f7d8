import type { ErrorClass } from '@hub/domain';
import { classOfStatus, fetchWithTimeout, readJson, retryAfterMs } from './http.ts';
import { twilioStatusCallbackUrl } from './receipt-urls.ts';
import { VendorError, type VendorAccepted, type VendorRequest, type VendorSender } from './types.ts';

export interface TwilioOptions {
  /** https://api.twilio.com in production. */
  baseUrl: string;
  accountSid: string;
  /** The account's auth token; or an API key (SK…) and its secret, which Twilio recommends for production. */
  authToken?: string | undefined;
  apiKeySid?: string | undefined;
  apiKeySecret?: string | undefined;
  /** Sender number (E.164) or a Messaging Service SID (MG…). */
  from: string;
  /** The hub's public base URL: each message gets a `StatusCallback` to ingest-api there. Unset = no delivery receipts. */
  publicBaseUrl?: string | undefined;
  timeoutMs: number;
}

/**
 * Twilio error codes (https://www.twilio.com/docs/api/errors) and what they say about the
 * message. 21610: the recipient replied STOP; the number works, this sender may not use it
 * (permanent, the address stays). 21617: body over 1,600 characters (ingest refuses those first).
 */
const TWILIO_ERRORS: Record<number, ErrorClass> = {
  20429: 'transient',
  21211: 'invalid_recipient',
  21214: 'invalid_recipient',
  21217: 'invalid_recipient',
  21407: 'invalid_recipient',
  21421: 'invalid_recipient',
  21601: 'invalid_recipient',
  21612: 'invalid_recipient',
  21614: 'invalid_recipient',
  21610: 'permanent',
  21617: 'permanent',
  20003: 'permanent',
};

/** Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{sid}/Messages.json` (form-encoded, Basic auth). */
export class TwilioSender implements VendorSender {
  readonly name = 'twilio';
  private readonly options: TwilioOptions;
  private readonly authorization: string;

  constructor(options: TwilioOptions) {
    this.options = options;
    // An API key authenticates as itself (username = key SID); the URL still names the account.
    const [user, password] =
      options.apiKeySid && options.apiKeySecret ? [options.apiKeySid, options.apiKeySecret] : [options.accountSid, options.authToken];
    if (!password) throw new Error('Twilio needs the auth token, or an API key SID and secret');
    this.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  async send(request: VendorRequest): Promise<VendorAccepted> {
    const { baseUrl, accountSid, from, publicBaseUrl } = this.options;
    const form = new URLSearchParams({ To: request.address, Body: request.body });
    form.set(from.startsWith('MG') ? 'MessagingServiceSid' : 'From', from);
    // Twilio posts every status change (sent, delivered, undelivered with its 30xxx code) there.
    if (publicBaseUrl) form.set('StatusCallback', twilioStatusCallbackUrl(publicBaseUrl, request.attemptId));
    const response = await fetchWithTimeout(
      'twilio',
      `${baseUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`,
      {
        method: 'POST',
        headers: { authorization: this.authorization, 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      },
      this.options.timeoutMs,
    );
    const body = (await readJson(response)) as { sid?: unknown; code?: unknown; status?: unknown } | undefined;
    if (response.ok) {
      // Accepted without a sid is still accepted: sending again would deliver twice (SPEC §2).
      return { vendorMessageId: typeof body?.sid === 'string' ? body.sid : null };
    }
    const code = typeof body?.code === 'number' ? body.code : undefined;
    const errorClass: ErrorClass = (code !== undefined && TWILIO_ERRORS[code]) || classOfStatus(response.status);
    throw new VendorError(errorClass, `twilio ${response.status}${code ? ` code ${code}` : ''}`, {
      retryAfterMs: errorClass === 'transient' ? retryAfterMs(response) : undefined,
    });
  }
}
