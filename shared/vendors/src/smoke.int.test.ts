// `npm run vendors:smoke` against the SES and Twilio fakes standing in for the real vendors: the
// same factory the dispatchers use sends one message per configured vendor and reports each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSes, startFakeTwilio, type FakeServer } from './fakes/index.ts';
import { runSmoke } from './smoke.ts';

let ses: FakeServer;
let twilio: FakeServer;
beforeAll(async () => {
  ses = await startFakeSes({ keys: { AKIDSMOKE: 'smoke-secret' } });
  twilio = await startFakeTwilio({ accountSid: 'ACSMOKE', authToken: 'smoke-token' });
});
afterAll(async () => {
  await Promise.all([ses?.close(), twilio?.close()]);
});

async function smoke(env: Record<string, string>) {
  const lines: string[] = [];
  const code = await runSmoke(env, (line) => lines.push(line));
  return { code, lines };
}

const configured = () => ({
  EMAIL_FROM: 'hub@example.com',
  SES_ENDPOINT: ses.url,
  SES_ACCESS_KEY_ID: 'AKIDSMOKE',
  SES_SECRET_ACCESS_KEY: 'smoke-secret',
  SMOKE_EMAIL_TO: 'team@example.com',
  TWILIO_BASE_URL: twilio.url,
  TWILIO_ACCOUNT_SID: 'ACSMOKE',
  TWILIO_AUTH_TOKEN: 'smoke-token',
  TWILIO_FROM: '+15005550006',
  SMOKE_SMS_TO: '+821012345678',
});

describe('vendors:smoke', () => {
  it('sends one message per configured vendor, says ok for each and skips the others with what to set', async () => {
    const before = { ses: ses.requests.length, twilio: twilio.requests.length };
    const { code, lines } = await smoke({ ...configured(), KAKAO_SERVICE_ID: 'ncp:kkobizmsg:kr:1:hub' });
    expect(code).toBe(0);
    // What is skipped is said first, then each send's result.
    expect(lines).toEqual([
      expect.stringMatching(/^skip  PUSH \(fcm\): not configured/),
      expect.stringMatching(/^skip  KAKAO_ALIMTALK \(sens\): set KAKAO_ACCESS_KEY, .*SMOKE_KAKAO_TO/),
      expect.stringMatching(/^ok    EMAIL \(ses\): accepted, vendor message id 0100/),
      expect.stringMatching(/^ok    SMS \(twilio\): accepted, vendor message id SM[0-9a-f]{32}$/),
    ]);
    expect({ ses: ses.requests.length - before.ses, twilio: twilio.requests.length - before.twilio }).toEqual({ ses: 1, twilio: 1 });
  });

  it('reports a refusal with its error class and exits 1', async () => {
    const { code, lines } = await smoke({ ...configured(), SMOKE_SMS_TO: '+15005550001', TWILIO_AUTH_TOKEN: 'smoke-token' });
    expect(code).toBe(1);
    expect(lines).toContain('error SMS (twilio): invalid_recipient: twilio 400 code 21211');
  });

  it('refuses to run in CI, sending nothing', async () => {
    const before = ses.requests.length + twilio.requests.length;
    const { code, lines } = await smoke({ ...configured(), CI: 'true' });
    expect(code).toBe(2);
    expect(lines[0]).toMatch(/does not run in CI/);
    expect(ses.requests.length + twilio.requests.length).toBe(before);
  });

  it('refuses to run with no vendor configured, printing what to set', async () => {
    const { code, lines } = await smoke({});
    expect(code).toBe(2);
    expect(lines.join('\n')).toMatch(/No vendor is configured[\s\S]*SMOKE_EMAIL_TO[\s\S]*SMOKE_SMS_TO/);
  });
});
