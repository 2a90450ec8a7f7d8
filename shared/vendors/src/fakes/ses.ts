import { startFakeServer, type FakeReply, type FakeServer } from './server.ts';

const sesError = (status: number, type: string, message: string): FakeReply => ({
  status,
  headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazonaws.sesv2/`, 'x-amzn-requestid': crypto.randomUUID() },
  body: { message },
});

/**
 * Fake Amazon SES v2 `POST /v2/email/outbound-emails` (REST-JSON, SigV4 required). Recipient-
 * driven answers: `throttled@…` 429 TooManyRequestsException, `not-an-address` 400 BadRequest
 * (illegal address), `rejected@…` 400 MessageRejected, `error@…` 500, `hang@…` never answers, `noid@…` 200 without a MessageId;
 * anything else 200 with a MessageId.
 */
export async function startFakeSes(): Promise<FakeServer> {
  return startFakeServer((request) => {
    if (request.method !== 'POST' || request.path !== '/v2/email/outbound-emails') return sesError(404, 'NotFoundException', 'not found');
    if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
      return sesError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
    const to = (JSON.parse(request.body) as { Destination?: { ToAddresses?: string[] } }).Destination?.ToAddresses?.[0] ?? '';
    if (to.startsWith('throttled@')) return sesError(429, 'TooManyRequestsException', 'Maximum sending rate exceeded.');
    if (!to.includes('@')) return sesError(400, 'BadRequestException', `Illegal address: ${to}`);
    if (to.startsWith('rejected@')) return sesError(400, 'MessageRejected', 'Email address is not verified.');
    if (to.startsWith('error@')) return sesError(500, 'InternalFailure', 'Internal failure.');
    if (to.startsWith('hang@')) return 'hang';
    if (to.startsWith('noid@')) return { status: 200, headers: { 'x-amzn-requestid': crypto.randomUUID() }, body: {} };
    return { status: 200, headers: { 'x-amzn-requestid': crypto.randomUUID() }, body: { MessageId: `0100${crypto.randomUUID()}-000000` } };
  });
}
