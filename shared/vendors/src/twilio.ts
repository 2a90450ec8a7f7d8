import type { ErrorClass } from '@hub/domain';
import { classOfStatus, fetchWithTimeout, readJson } from './http.ts';
import { VendorError, type VendorAccepted, type VendorRequest, type VendorSender } from './types.ts';

export interface TwilioOptions {
  /** https://api.twilio.com in production. */
  baseUrl: string;
  accountSid: string;
  authToken: string;
  /** Sender number (E.164) or a Messaging Service SID (MG…). */
  from: string;
  timeoutMs: number;
}

/** Twilio error codes (https://www.twilio.com/docs/api/errors) that say the number is unusable. */
const INVALID_RECIPIENT_CODES = new Set([21211, 21214, 21217, 21407, 21421, 21601, 21610, 21612, 21614]);

/** Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{sid}/Messages.json` (form-encoded, Basic auth). */
export class TwilioSender implements VendorSender {
  readonly name = 'twilio';
  private readonly options: TwilioOptions;

  constructor(options: TwilioOptions) {
    this.options = options;
  }

  async send(request: VendorRequest): Promise<VendorAccepted> {
    const { baseUrl, accountSid, authToken, from } = this.options;
    const form = new URLSearchParams({ To: request.address, Body: request.body });
    form.set(from.startsWith('MG') ? 'MessagingServiceSid' : 'From', from);
    const response = await fetchWithTimeout(
      'twilio',
      `${baseUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`,
      {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
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
    let errorClass: ErrorClass = classOfStatus(response.status);
    if (code === 20429) errorClass = 'transient';
    else if (code !== undefined && INVALID_RECIPIENT_CODES.has(code)) errorClass = 'invalid_recipient';
    throw new VendorError(errorClass, `twilio ${response.status}${code ? ` code ${code}` : ''}`);
  }
}
