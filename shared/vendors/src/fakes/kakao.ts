import { createHmac, timingSafeEqual } from 'node:crypto';
import { startFakeServer, type FakeReply, type FakeServer } from './server.ts';

interface SensMessage {
  countryCode?: unknown;
  to?: unknown;
  content?: unknown;
  buttons?: { type?: unknown; name?: unknown }[];
}

const sensError = (status: number, errorCode: string, message: string, headers?: Record<string, string>): FakeReply => ({
  status,
  ...(headers ? { headers } : {}),
  body: { error: { errorCode, message } },
});

/**
 * Fake NAVER Cloud SENS AlimTalk `POST /alimtalk/v2/services/{serviceId}/messages`, checking
 * the API gateway v2 signature (HMAC-SHA256 of "POST {path}\n{timestamp}\n{accessKey}", a
 * timestamp within 5 minutes), the body's shape (digits-only `to` and `countryCode`, content,
 * at most 5 buttons with type and name) and the template code against the approved ones (an
 * unknown code is a 400). Number-driven answers (`to`): `01000000001` refused per message (not a
 * KakaoTalk user), `01000000429` 429 with Retry-After, `01000000500` 500, `01000000777` never
 * answers, `01000000204` accepted without a messageId; anything else 202 with requestStatusCode
 * A000 and a messageId.
 */
export async function startFakeKakao(options: {
  serviceId: string;
  accessKey: string;
  secretKey: string;
  /** Approved template codes; unset = any code is approved. */
  templateCodes?: string[];
  /** Seconds sent in Retry-After on 429. */
  retryAfterSeconds?: number;
}): Promise<FakeServer> {
  const path = `/alimtalk/v2/services/${encodeURIComponent(options.serviceId)}/messages`;
  return startFakeServer((request): FakeReply => {
    if (request.method !== 'POST' || request.path !== path) return { status: 404, body: { status: 404, errorMessage: 'Not Found' } };
    const timestamp = String(request.headers['x-ncp-apigw-timestamp'] ?? '');
    const expected = createHmac('sha256', options.secretKey).update(`POST ${path}\n${timestamp}\n${options.accessKey}`).digest();
    const given = Buffer.from(String(request.headers['x-ncp-apigw-signature-v2'] ?? ''), 'base64');
    const fresh = /^\d+$/.test(timestamp) && Math.abs(Date.now() - Number(timestamp)) < 300_000;
    if (request.headers['x-ncp-iam-access-key'] !== options.accessKey || !fresh || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return sensError(401, '200', 'Authentication Failed');
    }
    const body = JSON.parse(request.body) as { plusFriendId?: unknown; templateCode?: unknown; messages?: SensMessage[] };
    const message = body.messages?.[0];
    if (typeof body.plusFriendId !== 'string' || typeof body.templateCode !== 'string' || !message) return sensError(400, '400', 'Bad Request');
    if (options.templateCodes && !options.templateCodes.includes(body.templateCode)) return sensError(400, '400', `templateCode ${body.templateCode} is not approved`);
    const to = typeof message.to === 'string' ? message.to : '';
    const shapeOk =
      /^\d+$/.test(to) &&
      (message.countryCode === undefined || (typeof message.countryCode === 'string' && /^\d{1,3}$/.test(message.countryCode))) &&
      typeof message.content === 'string' &&
      (message.buttons === undefined || (message.buttons.length <= 5 && message.buttons.every((b) => typeof b.type === 'string' && typeof b.name === 'string')));
    if (!shapeOk) return sensError(400, '400', 'Bad Request');
    if (to === '01000000429') return sensError(429, '400', 'Too many requests', { 'retry-after': String(options.retryAfterSeconds ?? 1) });
    if (to === '01000000500') return sensError(500, '500', 'Internal Server Error');
    if (to === '01000000777') return 'hang';
    const refused = to === '01000000001';
    return {
      status: 202,
      body: {
        requestId: `RAPI-${crypto.randomUUID()}`,
        requestTime: new Date().toISOString(),
        statusCode: '202',
        statusName: 'success',
        messages: [
          {
            ...(to === '01000000204' ? {} : { messageId: crypto.randomUUID() }),
            countryCode: message.countryCode ?? '82',
            to,
            content: message.content,
            requestStatusCode: refused ? 'A002' : 'A000',
            requestStatusName: refused ? 'fail' : 'success',
            requestStatusDesc: refused ? 'The recipient is not a KakaoTalk user' : 'success',
            useSmsFailover: false,
          },
        ],
      },
    };
  });
}
