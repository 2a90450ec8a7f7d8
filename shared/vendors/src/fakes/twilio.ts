import { startFakeServer, type FakeReply, type FakeServer } from './server.ts';

const twilioError = (status: number, code: number, message: string): FakeReply => ({
  status,
  body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
});

/**
 * Fake Twilio `POST /2010-04-01/Accounts/{sid}/Messages.json` (Basic auth, form body), with
 * Twilio's test-credential magic numbers: To `+15005550001` → 400 code 21211 (invalid 'To'),
 * `+15005550009` → 400 code 21614 (not a mobile number); plus `+15005550429` → 429 code 20429,
 * `+15005550500` → 500, `+15005550777` never answers, `+15005550204` → 201 without a sid; anything else 201 with an SM sid.
 */
export async function startFakeTwilio(options: { accountSid: string; authToken: string }): Promise<FakeServer> {
  const expected = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  return startFakeServer((request) => {
    if (request.method !== 'POST' || request.path !== `/2010-04-01/Accounts/${options.accountSid}/Messages.json`) {
      return twilioError(404, 20404, 'The requested resource was not found');
    }
    if (request.headers.authorization !== expected) return twilioError(401, 20003, 'Authenticate');
    const to = new URLSearchParams(request.body).get('To') ?? '';
    if (to === '+15005550001') return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    if (to === '+15005550009') return twilioError(400, 21614, `'To' number is not a valid mobile number`);
    if (to === '+15005550429') return twilioError(429, 20429, 'Too Many Requests');
    if (to === '+15005550500') return { status: 500, body: { code: 20500, message: 'Internal Server Error', status: 500 } };
    if (to === '+15005550777') return 'hang';
    if (to === '+15005550204') return { status: 201, body: { status: 'queued', to } };
    return { status: 201, body: { sid: `SM${crypto.randomUUID().replace(/-/g, '')}`, status: 'queued', to } };
  });
}
