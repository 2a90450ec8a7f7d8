import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { startFakeServer, type FakeReply, type FakeRequest, type FakeServer } from './server.ts';

const sesError = (status: number, type: string, message: string, headers: Record<string, string> = {}): FakeReply => ({
  status,
  headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazonaws.sesv2/`, 'x-amzn-requestid': crypto.randomUUID(), ...headers },
  body: { message },
});

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData) =>
  typeof data === 'string' ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

/** SHA-256 in the shape SignatureV4 takes (an HMAC when constructed with a key). */
class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

/**
 * Checks a request's SigV4 `Authorization` the way AWS does: the access key must be known, the
 * credential scope must be this region's `ses`, and the signature must be the one its secret
 * gives over the signed headers, at the request's own X-Amz-Date.
 */
async function validSignature(request: FakeRequest, keys: Record<string, string>, region: string): Promise<boolean> {
  const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
    String(request.headers.authorization ?? ''),
  );
  if (!auth) return false;
  const [, accessKeyId, , scopeRegion, service, signedHeaders, signature] = auth as unknown as string[];
  const secretAccessKey = keys[accessKeyId!];
  if (!secretAccessKey || scopeRegion !== region || service !== 'ses') return false;
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  const signingDate = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (Number.isNaN(signingDate.getTime())) return false;
  const url = new URL(request.path, 'http://fake');
  const headers: Record<string, string> = {};
  for (const name of signedHeaders!.split(';')) headers[name] = String(request.headers[name] ?? '');
  const token = request.headers['x-amz-security-token'];
  const signer = new SignatureV4({
    credentials: { accessKeyId: accessKeyId!, secretAccessKey, ...(typeof token === 'string' ? { sessionToken: token } : {}) },
    region,
    service: 'ses',
    sha256: Sha256,
  });
  const signed = await signer.sign(
    { method: request.method, protocol: 'http:', hostname: headers.host ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body: request.body },
    { signingDate },
  );
  return String(signed.headers.authorization ?? '').endsWith(`Signature=${signature}`);
}

export interface FakeSesOptions {
  /** Access key id → secret the fake accepts signatures of; without it any SigV4-shaped header passes (benchmarks, chaos). */
  keys?: Record<string, string>;
  region?: string;
}

/**
 * Fake Amazon SES v2 `POST /v2/email/outbound-emails` (REST-JSON; SigV4 verified against
 * `keys` when given: an unknown key or a wrong signature is 403 as AWS answers). Recipient-driven answers:
 * `throttled@…` 429 TooManyRequestsException with Retry-After: 2, `api-throttled@…` 400
 * ThrottlingException, `not-an-address` 400 BadRequest (illegal address), `rejected@…` 400
 * MessageRejected, `mailfrom@…` 400 MailFromDomainNotVerifiedException, `error@…` 500,
 * `hang@…` never answers, `noid@…` 200 without a MessageId; anything else 200 with a MessageId.
 */
export async function startFakeSes(options: FakeSesOptions = {}): Promise<FakeServer> {
  const keys = options.keys;
  const region = options.region ?? 'us-east-1';
  return startFakeServer(async (request) => {
    if (request.method !== 'POST' || request.path !== '/v2/email/outbound-emails') return sesError(404, 'NotFoundException', 'not found');
    if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
      return sesError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
    if (keys && !(await validSignature(request, keys, region))) {
      return sesError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    }
    const to = (JSON.parse(request.body) as { Destination?: { ToAddresses?: string[] } }).Destination?.ToAddresses?.[0] ?? '';
    if (to.startsWith('throttled@')) return sesError(429, 'TooManyRequestsException', 'Maximum sending rate exceeded.', { 'retry-after': '2' });
    if (to.startsWith('api-throttled@')) return sesError(400, 'ThrottlingException', 'Rate exceeded');
    if (!to.includes('@')) return sesError(400, 'BadRequestException', `Illegal address: ${to}`);
    if (to.startsWith('rejected@')) return sesError(400, 'MessageRejected', 'Email address is not verified.');
    if (to.startsWith('mailfrom@')) return sesError(400, 'MailFromDomainNotVerifiedException', 'MAIL FROM domain is not verified.');
    if (to.startsWith('error@')) return sesError(500, 'InternalFailure', 'Internal failure.');
    if (to.startsWith('hang@')) return 'hang';
    if (to.startsWith('noid@')) return { status: 200, headers: { 'x-amzn-requestid': crypto.randomUUID() }, body: {} };
    return { status: 200, headers: { 'x-amzn-requestid': crypto.randomUUID() }, body: { MessageId: `0100${crypto.randomUUID()}-000000` } };
  });
}
