import { JWT } from 'google-auth-library';
import type { ErrorClass } from '@hub/domain';
import { classOfStatus, fetchWithTimeout, readJson } from './http.ts';
import { VendorError, type VendorAccepted, type VendorRequest, type VendorSender } from './types.ts';

export interface FcmOptions {
  /** https://fcm.googleapis.com in production; a fake server in tests. */
  baseUrl: string;
  projectId: string;
  /** Service-account credentials (client_email, private_key of the JSON key file). */
  clientEmail: string;
  privateKey: string;
  timeoutMs: number;
}

const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

/** FCM HTTP v1 `messages:send` errors (FcmError.errorCode), as documented by Firebase. */
const FCM_ERROR_CODES: Record<string, ErrorClass> = {
  UNREGISTERED: 'invalid_recipient',
  SENDER_ID_MISMATCH: 'invalid_recipient',
  INVALID_ARGUMENT: 'permanent',
  THIRD_PARTY_AUTH_ERROR: 'permanent',
  QUOTA_EXCEEDED: 'transient',
  UNAVAILABLE: 'transient',
  INTERNAL: 'transient',
};

interface FcmErrorBody {
  error?: { code?: number; message?: string; status?: string; details?: { '@type'?: string; errorCode?: string }[] };
}

/**
 * Firebase Cloud Messaging HTTP v1. Authenticates with a self-signed service-account JWT scoped
 * to firebase.messaging (google-auth-library signs it locally; no token endpoint round trip).
 */
export class FcmSender implements VendorSender {
  readonly name = 'fcm';
  private readonly options: FcmOptions;
  private readonly jwt: JWT;

  constructor(options: FcmOptions) {
    this.options = options;
    this.jwt = new JWT({
      email: options.clientEmail,
      key: options.privateKey,
      scopes: [FCM_SCOPE],
    });
    this.jwt.useJWTAccessWithScope = true;
  }

  async send(request: VendorRequest): Promise<VendorAccepted> {
    const url = `${this.options.baseUrl.replace(/\/$/, '')}/v1/projects/${encodeURIComponent(this.options.projectId)}/messages:send`;
    let authorization: string | null;
    try {
      authorization = (await this.jwt.getRequestHeaders(url)).get('authorization');
    } catch (err) {
      throw new VendorError('permanent', 'fcm service-account credentials cannot sign a token', { cause: err });
    }
    const response = await fetchWithTimeout(
      'fcm',
      url,
      {
        method: 'POST',
        headers: { authorization: authorization ?? '', 'content-type': 'application/json' },
        body: JSON.stringify({
          message: {
            token: request.address,
            notification: { title: request.title, body: request.body },
            data: { attemptId: request.attemptId },
          },
        }),
      },
      this.options.timeoutMs,
    );
    const body = await readJson(response);
    if (response.ok) {
      // Accepted without a name is still accepted: sending again would deliver twice (SPEC §2).
      const name = (body as { name?: unknown } | undefined)?.name;
      return { vendorMessageId: typeof name === 'string' ? name : null };
    }
    const error = (body as FcmErrorBody | undefined)?.error;
    const fcmCode = error?.details?.find((d) => d['@type']?.endsWith('google.firebase.fcm.v1.FcmError'))?.errorCode;
    let errorClass = (fcmCode && FCM_ERROR_CODES[fcmCode]) || classOfStatus(response.status);
    // An expired or revoked access token: the next call signs a fresh one.
    if (response.status === 401 && fcmCode !== 'THIRD_PARTY_AUTH_ERROR') errorClass = 'transient';
    // INVALID_ARGUMENT about the token itself means the address is dead, not the message.
    if (fcmCode === 'INVALID_ARGUMENT' && /registration token/i.test(error?.message ?? '')) errorClass = 'invalid_recipient';
    throw new VendorError(errorClass, `fcm ${response.status} ${fcmCode ?? error?.status ?? ''}`.trim());
  }
}
