import { createHmac, timingSafeEqual } from 'node:crypto';
import { startFakeServer, type FakeReply, type FakeServer } from './server.ts';

/**
 * Fake NAVER Cloud SENS AlimTalk `POST /alimtalk/v2/services/{serviceId}/messages`, checking
 * the API gateway v2 signature. Number-driven answers: `01000000001` refused per message
 * (not a KakaoTalk user), `01000000429` 429, `01000000500` 500, `01000000777` never answers, `01000000204` accepted without a messageId;
 * anything else 202 with requestStatusCode A000 and a messageId.
 */
export async function startFakeKakao(options: { serviceId: string; accessKey: string; secretKey: string }): Promise<FakeServer> {
  const path = `/alimtalk/v2/services/${encodeURIComponent(options.serviceId)}/messages`;
  return startFakeServer((request): FakeReply => {
    if (request.method !== 'POST' || request.path !== path) return { status: 404, body: { status: 404, errorMessage: 'Not Found' } };
    const timestamp = String(request.headers['x-ncp-apigw-timestamp'] ?? '');
    const expected = createHmac('sha256', options.secretKey).update(`POST ${path}\n${timestamp}\n${options.accessKey}`).digest();
    const given = Buffer.from(String(request.headers['x-ncp-apigw-signature-v2'] ?? ''), 'base64');
    if (request.headers['x-ncp-iam-access-key'] !== options.accessKey || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { status: 401, body: { error: { errorCode: '200', message: 'Authentication Failed' } } };
    }
    const to = (JSON.parse(request.body) as { messages?: { to?: string }[] }).messages?.[0]?.to ?? '';
    if (to === '01000000429') return { status: 429, body: { error: { errorCode: '400', message: 'Too many requests' } } };
    if (to === '01000000500') return { status: 500, body: { error: { errorCode: '500', message: 'Internal Server Error' } } };
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
            to,
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
