import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { jwtVerify } from 'jose';
import { startFakeServer, type FakeReply, type FakeServer } from './server.ts';

const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

const fcmError = (status: number, grpc: string, errorCode: string, message: string, headers?: Record<string, string>): FakeReply => ({
  status,
  ...(headers ? { headers } : {}),
  body: {
    error: {
      code: status,
      message,
      status: grpc,
      details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }],
    },
  },
});

const invalidToken: FakeReply = {
  status: 400,
  body: {
    error: {
      code: 400,
      message: 'The registration token is not a valid FCM registration token',
      status: 'INVALID_ARGUMENT',
      details: [
        { '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'INVALID_ARGUMENT' },
        { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'message.token', description: 'Invalid registration token' }] },
      ],
    },
  },
};

const badRequest = (description: string, field: string): FakeReply => ({
  status: 400,
  body: {
    error: {
      code: 400,
      message: `Invalid value at '${field}': ${description}`,
      status: 'INVALID_ARGUMENT',
      details: [
        { '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'INVALID_ARGUMENT' },
        { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description }] },
      ],
    },
  },
});

const tokenError = (status: number, error: string, description: string): FakeReply => ({ status, body: { error, error_description: description } });

export interface FakeFcm extends FakeServer {
  /** Where the adapter's token exchange goes (FCM_TOKEN_URL). */
  tokenUrl: string;
  /** Access tokens issued so far, in order. */
  issued: string[];
  /** Forgets every issued token: FCM then answers 401 UNAUTHENTICATED to each (a revoked token). */
  revokeAll: () => void;
  /** Makes the token endpoint answer this status (503: an outage) until called with null. */
  failTokenEndpoint: (status: number | null) => void;
}

/**
 * Fake Google OAuth 2.0 token endpoint and FCM HTTP v1 `messages:send`, as Google documents them.
 *
 * `POST /token` takes `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and an `assertion`:
 * an RS256 JWT signed by the service account's key (verified with its public key), issued by its
 * client_email, for the firebase.messaging scope, audience Google's token URL, at most an hour
 * long; it answers `{access_token, expires_in, token_type: "Bearer"}` (`expiresInSeconds`,
 * default 3599) or 400 `invalid_grant`. `messages:send` accepts only a Bearer token it issued and
 * checks the message's shape (string data values; android priority and ttl; apns and webpush
 * headers as strings). Token-driven answers: `unregistered-…` 404 UNREGISTERED, `throttled-…` 429
 * QUOTA_EXCEEDED with Retry-After, `unavailable-…` 503 UNAVAILABLE with Retry-After,
 * `internal-…` 500 INTERNAL, `malformed-…` 400 INVALID_ARGUMENT on message.token, `mismatch-…`
 * 403 SENDER_ID_MISMATCH, `apns-auth-…` 401 THIRD_PARTY_AUTH_ERROR, `hang-…` never answers,
 * `noid-…` 200 without a name; anything else 200 with a message name.
 */
export async function startFakeFcm(options: {
  projectId: string;
  publicKeyPem: string;
  clientEmail: string;
  expiresInSeconds?: number;
  /** Seconds sent in Retry-After on 429 and 503. */
  retryAfterSeconds?: number;
}): Promise<FakeFcm> {
  const key: KeyObject = createPublicKey(options.publicKeyPem);
  const issued: string[] = [];
  const valid = new Set<string>();
  const retryAfter = { 'retry-after': String(options.retryAfterSeconds ?? 1) };
  let sequence = 0;
  let tokenFailure: number | null = null;
  const server = await startFakeServer(async (request) => {
    if (request.method === 'POST' && request.path === '/token') {
      if (tokenFailure !== null) return tokenError(tokenFailure, 'internal_failure', 'Backend Error');
      const form = new URLSearchParams(request.body);
      if (form.get('grant_type') !== JWT_BEARER) return tokenError(400, 'unsupported_grant_type', 'Invalid grant_type: ' + form.get('grant_type'));
      try {
        const { payload } = await jwtVerify(form.get('assertion') ?? '', key, {
          algorithms: ['RS256'],
          issuer: options.clientEmail,
          audience: GOOGLE_TOKEN_URL,
          maxTokenAge: '3610s',
        });
        if (!String(payload.scope ?? '').split(' ').includes(FCM_SCOPE)) return tokenError(400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
        if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number' || payload.exp - payload.iat > 3_600) throw new Error('lifetime');
      } catch {
        return tokenError(400, 'invalid_grant', 'Invalid JWT Signature.');
      }
      const accessToken = `ya29.fake-${randomBytes(24).toString('base64url')}`;
      issued.push(accessToken);
      valid.add(accessToken);
      return { status: 200, body: { access_token: accessToken, expires_in: options.expiresInSeconds ?? 3_599, token_type: 'Bearer' } };
    }
    if (request.method !== 'POST' || request.path !== `/v1/projects/${options.projectId}/messages:send`) {
      return { status: 404, body: { error: { code: 404, status: 'NOT_FOUND', message: 'not found' } } };
    }
    const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    if (!bearer || !valid.has(bearer)) {
      return { status: 401, body: { error: { code: 401, status: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials.' } } };
    }
    const message = (JSON.parse(request.body) as { message?: Record<string, unknown> }).message ?? {};
    const shapeError = checkShape(message);
    if (shapeError) return shapeError;
    const token = typeof message.token === 'string' ? message.token : '';
    if (token.startsWith('unregistered-')) return fcmError(404, 'NOT_FOUND', 'UNREGISTERED', 'Requested entity was not found.');
    if (token.startsWith('throttled-')) return fcmError(429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED', 'Quota exceeded.', retryAfter);
    if (token.startsWith('unavailable-')) return fcmError(503, 'UNAVAILABLE', 'UNAVAILABLE', 'The service is currently unavailable.', retryAfter);
    if (token.startsWith('internal-')) return fcmError(500, 'INTERNAL', 'INTERNAL', 'Internal error encountered.');
    if (token.startsWith('malformed-')) return invalidToken;
    if (token.startsWith('mismatch-')) return fcmError(403, 'PERMISSION_DENIED', 'SENDER_ID_MISMATCH', 'SenderId mismatch');
    if (token.startsWith('apns-auth-')) return fcmError(401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR', 'Auth error from APNS or Web Push Service');
    if (token.startsWith('hang-')) return 'hang';
    // Accepted without a message name (a vendor may leave the id out).
    if (token.startsWith('noid-')) return { status: 200, body: {} };
    sequence++;
    return { status: 200, body: { name: `projects/${options.projectId}/messages/0:${Date.now()}%${sequence}` } };
  });
  return {
    ...server,
    tokenUrl: `${server.url}/token`,
    issued,
    revokeAll: () => valid.clear(),
    failTokenEndpoint: (status) => {
      tokenFailure = status;
    },
  };
}

/** FCM's own validation of the fields the adapter sets (a wrong type is a 400, as FCM answers it). */
function checkShape(message: Record<string, unknown>): FakeReply | undefined {
  if (typeof message.token !== 'string' || message.token === '') return badRequest('token is required', 'message.token');
  const data = message.data;
  if (data !== undefined) {
    if (typeof data !== 'object' || data === null) return badRequest('must be a map', 'message.data');
    for (const [k, v] of Object.entries(data)) {
      if (typeof v !== 'string') return badRequest('data values must be strings', `message.data[${k}]`);
      if (/^(from|notification|message_type)$|^(google|gcm)/i.test(k)) return badRequest('reserved key', `message.data[${k}]`);
    }
  }
  const android = message.android as { priority?: unknown; ttl?: unknown } | undefined;
  if (android !== undefined) {
    if (android.priority !== undefined && android.priority !== 'NORMAL' && android.priority !== 'HIGH') return badRequest('invalid enum', 'message.android.priority');
    if (android.ttl !== undefined && !/^\d+(\.\d+)?s$/.test(String(android.ttl))) return badRequest('invalid duration', 'message.android.ttl');
  }
  for (const block of ['apns', 'webpush'] as const) {
    const headers = (message[block] as { headers?: Record<string, unknown> } | undefined)?.headers;
    if (headers && Object.values(headers).some((v) => typeof v !== 'string')) return badRequest('header values must be strings', `message.${block}.headers`);
  }
  return undefined;
}
