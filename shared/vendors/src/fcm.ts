import { readFile } from 'node:fs/promises';
import { GoogleAuth, JWT, type AuthClient } from 'google-auth-library';
import { PRIORITY_KINDS, type ErrorClass } from '@hub/domain';
import { classOfStatus, fetchWithTimeout, readJson, retryAfterMs } from './http.ts';
import { VendorError, type VendorAccepted, type VendorRequest, type VendorSender } from './types.ts';

/** Google's OAuth 2.0 token endpoint, where a service account trades its signed JWT for an access token. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

/**
 * Where the access token comes from: a service-account key (its fields, or the JSON key file),
 * or application default credentials (GOOGLE_APPLICATION_CREDENTIALS, workload identity, the
 * GCE/GKE metadata server) when no key is given.
 */
export type FcmCredentials =
  | { type: 'service_account'; clientEmail: string; privateKey: string }
  | { type: 'key_file'; path: string }
  | { type: 'application_default' };

export interface FcmOptions {
  /** https://fcm.googleapis.com in production; a fake server in tests. */
  baseUrl: string;
  projectId: string;
  credentials: FcmCredentials;
  /**
   * Token endpoint override (tests): google-auth-library always posts to Google's; a set URL
   * receives that exchange instead. The assertion's audience stays Google's token URL.
   */
  tokenUrl?: string | undefined;
  /** How long FCM keeps an undelivered message (android ttl, apns-expiration, webpush TTL). */
  ttlSeconds: number;
  timeoutMs: number;
  /** Refresh the access token this long before it expires (google-auth-library default: 5 min). */
  refreshMarginMs?: number | undefined;
}

/** FCM HTTP v1 `messages:send` errors (FcmError.errorCode), as documented by Firebase. */
const FCM_ERROR_CODES: Record<string, ErrorClass> = {
  UNREGISTERED: 'invalid_recipient',
  // The token belongs to another sender: with a misconfigured project every token would answer
  // this, and disabling them all would be worse than failing the attempt.
  SENDER_ID_MISMATCH: 'permanent',
  INVALID_ARGUMENT: 'permanent',
  THIRD_PARTY_AUTH_ERROR: 'permanent',
  QUOTA_EXCEEDED: 'transient',
  UNAVAILABLE: 'transient',
  INTERNAL: 'transient',
};

/** `data` keys FCM refuses (INVALID_ARGUMENT): reserved words and the google/gcm prefixes. */
const RESERVED_DATA_KEY = /^(from|notification|message_type)$|^(google|gcm)/i;

/** A payload key the caller may set to collapse undelivered messages (android, apns, webpush). */
export const COLLAPSE_KEY_FIELD = 'collapseKey';

interface FcmErrorBody {
  error?: {
    code?: number;
    message?: string;
    status?: string;
    details?: { '@type'?: string; errorCode?: string; fieldViolations?: { field?: string; description?: string }[] }[];
  };
}

/**
 * The FCM v1 message for one delivery: the notification, the notification's payload as `data`
 * (plus our attemptId; FCM's reserved keys left out), and the block of the device's platform:
 * SECURITY and TRANSACTIONAL go at high priority (android HIGH, apns-priority 10, webpush
 * Urgency high), every other kind at normal; each with the message's time to live. An unknown
 * platform gets no block (FCM defaults).
 */
export function fcmMessage(request: VendorRequest, options: { ttlSeconds: number; now: Date }): Record<string, unknown> {
  const urgent = request.kind !== undefined && PRIORITY_KINDS.has(request.kind);
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(request.payload ?? {})) {
    if (!RESERVED_DATA_KEY.test(key)) data[key] = value;
  }
  data.attemptId = request.attemptId;
  const collapseKey = request.payload?.[COLLAPSE_KEY_FIELD];
  const ttl = options.ttlSeconds;
  const message: Record<string, unknown> = {
    token: request.address,
    notification: { title: request.title, body: request.body },
    data,
  };
  switch (request.platform) {
    case 'ANDROID':
      message.android = { priority: urgent ? 'HIGH' : 'NORMAL', ttl: `${ttl}s`, ...(collapseKey ? { collapse_key: collapseKey } : {}) };
      break;
    case 'IOS':
      message.apns = {
        headers: {
          'apns-priority': urgent ? '10' : '5',
          'apns-push-type': 'alert',
          // Epoch seconds after which APNs stops trying; 0 would mean "once, now or never".
          'apns-expiration': String(Math.floor(options.now.getTime() / 1_000) + ttl),
          ...(collapseKey ? { 'apns-collapse-id': collapseKey } : {}),
        },
      };
      break;
    case 'WEB':
      message.webpush = { headers: { Urgency: urgent ? 'high' : 'normal', TTL: String(ttl), ...(collapseKey ? { Topic: collapseKey } : {}) } };
      break;
    default:
      break;
  }
  return message;
}

/**
 * Firebase Cloud Messaging HTTP v1 with the OAuth 2.0 access token Firebase documents: the
 * service account's signed JWT is exchanged at Google's token endpoint (google-auth-library),
 * the token is cached until shortly before it expires and then refreshed; with no key given,
 * application default credentials provide it. A token FCM refuses (401) is dropped, so the next
 * call exchanges a fresh one.
 */
export class FcmSender implements VendorSender {
  readonly name = 'fcm';
  private readonly options: FcmOptions;
  private client: Promise<AuthClient> | undefined;

  constructor(options: FcmOptions) {
    this.options = options;
  }

  async send(request: VendorRequest): Promise<VendorAccepted> {
    const url = `${this.options.baseUrl.replace(/\/$/, '')}/v1/projects/${encodeURIComponent(this.options.projectId)}/messages:send`;
    const accessToken = await this.accessToken();
    const response = await fetchWithTimeout(
      'fcm',
      url,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: fcmMessage(request, { ttlSeconds: this.options.ttlSeconds, now: new Date() }) }),
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
    if (response.status === 401 && fcmCode !== 'THIRD_PARTY_AUTH_ERROR') {
      // Our access token was refused (revoked, or expired early): drop it; the retry exchanges anew.
      this.client = undefined;
      errorClass = 'transient';
    }
    if (fcmCode === 'INVALID_ARGUMENT' && aboutToken(error)) errorClass = 'invalid_recipient';
    throw new VendorError(errorClass, `fcm ${response.status} ${fcmCode ?? error?.status ?? ''}`.trim(), { retryAfterMs: retryAfterMs(response) });
  }

  /** The cached access token, exchanged (or refreshed) by google-auth-library when needed. */
  private async accessToken(): Promise<string> {
    this.client ??= this.createClient();
    const client = this.client;
    let token: string | null | undefined;
    try {
      token = (await (await client).getAccessToken()).token;
    } catch (err) {
      // A failed exchange must not stick: the next call starts from a fresh client.
      if (this.client === client) this.client = undefined;
      throw tokenError(err);
    }
    if (!token) throw new VendorError('permanent', 'fcm credentials gave no access token');
    return token;
  }

  private async createClient(): Promise<AuthClient> {
    const { credentials, tokenUrl, timeoutMs, refreshMarginMs } = this.options;
    const redirect = tokenUrl && tokenUrl !== GOOGLE_TOKEN_URL ? tokenUrl : undefined;
    const clientOptions = {
      ...(refreshMarginMs !== undefined ? { eagerRefreshThresholdMillis: refreshMarginMs } : {}),
      transporterOptions: {
        timeout: timeoutMs,
        // The dispatcher retries transient failures itself (with its breaker and lease checks).
        retryConfig: { retry: 0, noResponseRetries: 0 },
        ...(redirect
          ? {
              fetchImplementation: (input: Parameters<typeof fetch>[0], init?: RequestInit) =>
                fetch(String(input instanceof Request ? input.url : input) === GOOGLE_TOKEN_URL ? redirect : input, init),
            }
          : {}),
      },
    };
    switch (credentials.type) {
      case 'service_account':
        return new JWT({ email: credentials.clientEmail, key: credentials.privateKey, scopes: [FCM_SCOPE], ...clientOptions });
      case 'key_file': {
        // Read and checked here rather than handed to the library: only a service-account key
        // is accepted from a file (Google's advice for externally sourced credential files).
        const key = JSON.parse(await readFile(credentials.path, 'utf8')) as { type?: string; client_email?: string; private_key?: string };
        if (key.type !== 'service_account' || !key.client_email || !key.private_key) throw new Error('FCM credentials file is not a service-account key');
        return new JWT({ email: key.client_email, key: key.private_key, scopes: [FCM_SCOPE], ...clientOptions });
      }
      case 'application_default':
        return new GoogleAuth({ scopes: [FCM_SCOPE], clientOptions }).getClient();
    }
  }
}

/** INVALID_ARGUMENT about the registration token means the address is dead, not the message. */
function aboutToken(error: FcmErrorBody['error']): boolean {
  const violations = error?.details?.flatMap((d) => d.fieldViolations ?? []) ?? [];
  if (violations.some((v) => v.field === 'message.token')) return true;
  return /registration token/i.test(error?.message ?? '');
}

/**
 * A failed token exchange: refused credentials (400/401/403 from the token endpoint, a key that
 * cannot sign, no credentials found) are permanent; the endpoint's 429/5xx, timeouts and
 * network failures are transient.
 */
function tokenError(err: unknown): VendorError {
  const response = (err as { response?: { status?: number; data?: { error?: unknown } } } | null)?.response;
  const status = response?.status;
  if (status !== undefined) {
    const errorClass = classOfStatus(status);
    const code = typeof response?.data?.error === 'string' ? ` ${response.data.error}` : '';
    return new VendorError(errorClass, `fcm token endpoint ${status}${code}`, { cause: err });
  }
  // A request error without a response (gaxios errors carry their request `config`): the
  // endpoint was unreachable or silent. Anything else failed before a request: the key itself.
  if (err !== null && typeof err === 'object' && 'config' in err) return new VendorError('transient', 'fcm token endpoint unreachable', { cause: err });
  return new VendorError('permanent', 'fcm credentials cannot produce an access token', { cause: err });
}
