import { createPublicKey, type KeyObject } from 'node:crypto';
import { jwtVerify } from 'jose';
import { startFakeServer, type FakeReply, type FakeServer } from './server.ts';

const fcmError = (status: number, grpc: string, errorCode: string, message: string): FakeReply => ({
  status,
  body: {
    error: {
      code: status,
      message,
      status: grpc,
      details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }],
    },
  },
});

/**
 * Fake FCM HTTP v1 `messages:send`. Checks the service account's self-signed JWT (RS256,
 * firebase.messaging scope). Token-driven answers: `unregistered-…` 404 UNREGISTERED,
 * `throttled-…` 429 QUOTA_EXCEEDED, `unavailable-…` 503, `malformed-…` 400 INVALID_ARGUMENT
 * about the registration token, `hang-…` never answers, `noid-…` 200 without a name; anything else 200 with a message name.
 */
export async function startFakeFcm(options: { projectId: string; publicKeyPem: string; clientEmail: string }): Promise<FakeServer> {
  const key: KeyObject = createPublicKey(options.publicKeyPem);
  let sequence = 0;
  return startFakeServer(async (request) => {
    if (request.method !== 'POST' || request.path !== `/v1/projects/${options.projectId}/messages:send`) {
      return { status: 404, body: { error: { code: 404, status: 'NOT_FOUND', message: 'not found' } } };
    }
    const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    try {
      const { payload } = await jwtVerify(bearer ?? '', key, { issuer: options.clientEmail });
      if (!String(payload.scope ?? '').includes('firebase.messaging')) throw new Error('scope');
    } catch {
      return { status: 401, body: { error: { code: 401, status: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials.' } } };
    }
    const token = (JSON.parse(request.body) as { message?: { token?: string } }).message?.token ?? '';
    if (token.startsWith('unregistered-')) return fcmError(404, 'NOT_FOUND', 'UNREGISTERED', 'Requested entity was not found.');
    if (token.startsWith('throttled-')) return fcmError(429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED', 'Quota exceeded.');
    if (token.startsWith('unavailable-')) return fcmError(503, 'UNAVAILABLE', 'UNAVAILABLE', 'The service is currently unavailable.');
    if (token.startsWith('malformed-')) {
      return fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token');
    }
    if (token.startsWith('hang-')) return 'hang';
    // Accepted without a message name (a vendor may leave the id out).
    if (token.startsWith('noid-')) return { status: 200, body: {} };
    sequence++;
    return { status: 200, body: { name: `projects/${options.projectId}/messages/0:${Date.now()}%${sequence}` } };
  });
}
