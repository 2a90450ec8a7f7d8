import { createHmac } from 'node:crypto';
import { classOfStatus, fetchWithTimeout, readJson } from './http.ts';
import { VendorError, type VendorAccepted, type VendorRequest, type VendorSender } from './types.ts';

export interface KakaoOptions {
  /** https://sens.apigw.ntruss.com in production. */
  baseUrl: string;
  /** Biz Message service id (ncp:kkobizmsg:…). */
  serviceId: string;
  accessKey: string;
  secretKey: string;
  /** The Kakao channel id (plusFriendId) and the approved AlimTalk template. */
  plusFriendId: string;
  templateCode: string;
  timeoutMs: number;
}

interface SensResponse {
  requestId?: string;
  statusCode?: string;
  messages?: { messageId?: string; requestStatusCode?: string; requestStatusName?: string; requestStatusDesc?: string }[];
}

/**
 * Kakao AlimTalk through NAVER Cloud SENS (a Kakao business-message provider):
 * `POST /alimtalk/v2/services/{serviceId}/messages`, signed with the API gateway's HMAC-SHA256
 * v2 signature. Accepted messages have requestStatusCode A000; anything else is refused.
 */
export class KakaoAlimtalkSender implements VendorSender {
  readonly name = 'kakao';
  private readonly options: KakaoOptions;

  constructor(options: KakaoOptions) {
    this.options = options;
  }

  async send(request: VendorRequest): Promise<VendorAccepted> {
    const { baseUrl, serviceId, accessKey, secretKey, plusFriendId, templateCode } = this.options;
    const path = `/alimtalk/v2/services/${encodeURIComponent(serviceId)}/messages`;
    const timestamp = String(Date.now());
    const signature = createHmac('sha256', secretKey).update(`POST ${path}\n${timestamp}\n${accessKey}`).digest('base64');
    // SENS wants the national number without '+'; Korean numbers go as 010…, others with countryCode.
    const korean = request.address.startsWith('+82');
    const message = korean
      ? { to: `0${request.address.slice(3)}`, content: request.body }
      : { countryCode: request.address.slice(1, 2), to: request.address.slice(2), content: request.body };
    const response = await fetchWithTimeout(
      'kakao',
      `${baseUrl.replace(/\/$/, '')}${path}`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'x-ncp-apigw-timestamp': timestamp,
          'x-ncp-iam-access-key': accessKey,
          'x-ncp-apigw-signature-v2': signature,
        },
        body: JSON.stringify({ plusFriendId, templateCode, messages: [message] }),
      },
      this.options.timeoutMs,
    );
    const body = (await readJson(response)) as SensResponse | undefined;
    if (!response.ok) throw new VendorError(classOfStatus(response.status), `kakao ${response.status}`);
    const result = body?.messages?.[0];
    if (!result) throw new VendorError('transient', 'kakao answered without a message result');
    // Accepted without a message id is still accepted: sending again would deliver twice (SPEC §2).
    if (result.requestStatusCode === 'A000') return { vendorMessageId: result.messageId ?? null };
    // Refused per message: a number that is not a Kakao user or not a valid phone is the address's fault.
    const invalidRecipient = /recipient|number|user|phone/i.test(result.requestStatusDesc ?? '');
    throw new VendorError(invalidRecipient ? 'invalid_recipient' : 'permanent', `kakao ${result.requestStatusCode ?? 'refused'}`);
  }
}
