import { createHmac } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { classOfStatus, fetchWithTimeout, readJson, retryAfterMs } from './http.ts';
import { VendorError, type AlimtalkButton, type VendorAccepted, type VendorRequest, type VendorSender } from './types.ts';

export interface KakaoOptions {
  /** https://sens.apigw.ntruss.com in production. */
  baseUrl: string;
  /** Biz Message service id (ncp:kkobizmsg:…). */
  serviceId: string;
  accessKey: string;
  secretKey: string;
  /** The Kakao channel id (plusFriendId). */
  plusFriendId: string;
  /**
   * Template code for attempts whose template carries none (notifications sent with a plain
   * title and body); undefined = such an attempt fails permanently without a call (ADR 0027).
   */
  defaultTemplateCode?: string | undefined;
  timeoutMs: number;
}

interface SensResponse {
  requestId?: string;
  statusCode?: string;
  messages?: { messageId?: string; requestStatusCode?: string; requestStatusName?: string; requestStatusDesc?: string }[];
}

/**
 * A phone number as SENS takes it: `countryCode` from the parsed number (82, 44, 81…) and `to`
 * in digits only: the national form with its trunk prefix for Korea (010…), the national
 * significant number elsewhere. Undefined for anything that is not a valid phone number.
 */
export function sensRecipient(address: string): { countryCode: string; to: string } | undefined {
  const parsed = parsePhoneNumberFromString(address);
  if (!parsed?.isValid()) return undefined;
  const to = parsed.country === 'KR' ? parsed.formatNational().replace(/\D/g, '') : parsed.nationalNumber;
  return { countryCode: parsed.countryCallingCode, to };
}

/** The SENS API gateway v2 signature: base64 HMAC-SHA256 of "METHOD url\ntimestamp\naccessKey". */
export function sensSignature(input: { method: string; url: string; timestamp: string; accessKey: string; secretKey: string }): string {
  return createHmac('sha256', input.secretKey).update(`${input.method} ${input.url}\n${input.timestamp}\n${input.accessKey}`).digest('base64');
}

/** A button as SENS takes it: only the fields set. */
function sensButton(button: AlimtalkButton): Record<string, string> {
  const out: Record<string, string> = { type: button.type, name: button.name };
  for (const field of ['linkMobile', 'linkPc', 'schemeIos', 'schemeAndroid'] as const) {
    const value = button[field];
    if (value !== undefined) out[field] = value;
  }
  return out;
}

/**
 * Kakao AlimTalk through NAVER Cloud SENS (a Kakao business-message provider):
 * `POST /alimtalk/v2/services/{serviceId}/messages`, signed with the API gateway's HMAC-SHA256
 * v2 signature. Each message names its approved template (the template's provider code) and
 * carries the rendered text and the template's buttons, which must match the approved ones.
 * Accepted messages have requestStatusCode A000; anything else is refused.
 */
export class KakaoAlimtalkSender implements VendorSender {
  readonly name = 'kakao';
  private readonly options: KakaoOptions;

  constructor(options: KakaoOptions) {
    this.options = options;
  }

  async send(request: VendorRequest): Promise<VendorAccepted> {
    const { baseUrl, serviceId, accessKey, secretKey, plusFriendId } = this.options;
    const templateCode = request.providerTemplateCode ?? this.options.defaultTemplateCode;
    // SENS refuses a message that matches no approved template; no call can succeed.
    if (!templateCode) throw new VendorError('permanent', 'kakao: no AlimTalk template code (send with a KAKAO_ALIMTALK template, or set KAKAO_TEMPLATE_CODE)');
    const recipient = sensRecipient(request.address);
    if (!recipient) throw new VendorError('invalid_recipient', 'kakao: not a valid phone number');
    const path = `/alimtalk/v2/services/${encodeURIComponent(serviceId)}/messages`;
    const timestamp = String(Date.now());
    const message = {
      countryCode: recipient.countryCode,
      to: recipient.to,
      content: request.body,
      ...(request.buttons && request.buttons.length > 0 ? { buttons: request.buttons.map(sensButton) } : {}),
    };
    const response = await fetchWithTimeout(
      'kakao',
      `${baseUrl.replace(/\/$/, '')}${path}`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'x-ncp-apigw-timestamp': timestamp,
          'x-ncp-iam-access-key': accessKey,
          'x-ncp-apigw-signature-v2': sensSignature({ method: 'POST', url: path, timestamp, accessKey, secretKey }),
        },
        body: JSON.stringify({ plusFriendId, templateCode, messages: [message] }),
      },
      this.options.timeoutMs,
    );
    const body = (await readJson(response)) as SensResponse | undefined;
    if (!response.ok) throw new VendorError(classOfStatus(response.status), `kakao ${response.status}`, { retryAfterMs: retryAfterMs(response) });
    const result = body?.messages?.[0];
    if (!result) throw new VendorError('transient', 'kakao answered without a message result');
    // Accepted without a message id is still accepted: sending again would deliver twice (SPEC §2).
    if (result.requestStatusCode === 'A000') return { vendorMessageId: result.messageId ?? null };
    // Refused per message: a number that is not a Kakao user or not a valid phone is the address's fault.
    const invalidRecipient = /recipient|number|user|phone/i.test(result.requestStatusDesc ?? '');
    throw new VendorError(invalidRecipient ? 'invalid_recipient' : 'permanent', `kakao ${result.requestStatusCode ?? 'refused'}`);
  }
}
