import { startFakeServer, type FakeReply, type FakeServer } from './server.ts';

const twilioError = (status: number, code: number, message: string, headers?: Record<string, string>): FakeReply => ({
  status,
  ...(headers ? { headers } : {}),
  body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/**
 * Fake Twilio `POST /2010-04-01/Accounts/{sid}/Messages.json` (HTTP Basic auth checked: the
 * account SID and auth token, or an API key SID and secret when given; anything else 401 code
 * 20003), form body, with Twilio's test-credential magic numbers: To `+15005550001` → 400 code
 * 21211 (invalid 'To'), `+15005550009` → 400 code 21614 (not a mobile number); plus
 * `+15005550610` → 400 code 21610 (recipient replied STOP), `+15005550429` → 429 code 20429
 * with Retry-After: 3, `+15005550500` → 500, `+15005550777` never answers, `+15005550204` → 201
 * without a sid; a Body over 1,600 characters → 400 code 21617; anything else 201 with an SM sid.
 */
export async function startFakeTwilio(options: { accountSid: string; authToken: string; apiKey?: { sid: string; secret: string } }): Promise<FakeServer> {
  const accepted = new Set([basic(options.accountSid, options.authToken), ...(options.apiKey ? [basic(options.apiKey.sid, options.apiKey.secret)] : [])]);
  return startFakeServer((request) => {
    if (request.method !== 'POST' || request.path !== `/2010-04-01/Accounts/${options.accountSid}/Messages.json`) {
      return twilioError(404, 20404, 'The requested resource was not found');
    }
    if (!accepted.has(String(request.headers.authorization ?? ''))) return twilioError(401, 20003, 'Authenticate');
    const form = new URLSearchParams(request.body);
    const to = form.get('To') ?? '';
    if ((form.get('Body') ?? '').length > 1600) return twilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
    if (to === '+15005550001') return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    if (to === '+15005550009') return twilioError(400, 21614, `'To' number is not a valid mobile number`);
    if (to === '+15005550610') return twilioError(400, 21610, 'Attempt to send to unsubscribed recipient');
    if (to === '+15005550429') return twilioError(429, 20429, 'Too Many Requests', { 'retry-after': '3' });
    if (to === '+15005550500') return { status: 500, body: { code: 20500, message: 'Internal Server Error', status: 500 } };
    if (to === '+15005550777') return 'hang';
    if (to === '+15005550204') return { status: 201, body: { status: 'queued', to } };
    return { status: 201, body: { sid: `SM${crypto.randomUUID().replace(/-/g, '')}`, status: 'queued', to } };
  });
}
