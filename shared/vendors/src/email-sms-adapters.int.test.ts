// SES, SMTP and Twilio adapters against servers that answer the way those vendors document:
// success, throttling with Retry-After, invalid recipient, permanent refusals, server errors,
// a vendor that never answers, and each auth flow (SigV4 checked by the fake SES, SMTP AUTH,
// HTTP Basic checked by the fake Twilio). The vendors are the only externals here.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyUnsubscribeToken } from '@hub/domain';
import { startFakeSes, startFakeTwilio, type FakeServer } from './fakes/index.ts';
import { twilioStatusCallbackUrl } from './receipt-urls.ts';
import { SesSender } from './ses.ts';
import { SmtpSender } from './smtp.ts';
import { TwilioSender } from './twilio.ts';
import { VendorError, type VendorRequest, type VendorSender } from './types.ts';

// Generous for answers (a loaded CI box), short only where the vendor is meant to hang.
const TIMEOUT_MS = 5_000;
const HANG_TIMEOUT_MS = 300;
const UNSUBSCRIBE = { publicBaseUrl: 'https://hub.example.com/', signingSecret: 'unsubscribe-signing-secret-0123456789', mailto: 'unsubscribe@example.com' };
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

function request(channel: VendorRequest['channel'], address: string, extra: Partial<VendorRequest> = {}): VendorRequest {
  return { attemptId: crypto.randomUUID(), channel, address, title: 'Sign-in alert', body: 'Was this you?', kind: 'SECURITY', recipientId: 'user-1', ...extra };
}

async function failure(sender: VendorSender, req: VendorRequest): Promise<VendorError> {
  const error = await sender.send(req).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(VendorError);
  return error as VendorError;
}

/** The one-click link of a List-Unsubscribe value, checked as ingest-api checks it. */
function expectOneClickLink(listUnsubscribe: string, recipientId: string) {
  const match = /^<https:\/\/hub\.example\.com\/api\/v1\/unsubscribe\/([A-Za-z0-9_.-]+)>, <mailto:unsubscribe@example\.com\?subject=unsubscribe>$/.exec(listUnsubscribe);
  expect(match, listUnsubscribe).not.toBeNull();
  expect(verifyUnsubscribeToken(UNSUBSCRIBE.signingSecret, match![1]!, { now: new Date(), maxAgeDays: 1 })).toEqual({ ok: true, recipientId, kind: 'MARKETING' });
}

describe('Amazon SES v2 adapter', () => {
  let fake: FakeServer;
  let sender: SesSender;
  beforeAll(async () => {
    fake = await startFakeSes({ keys: { AKIDSTATIC: 'static-secret', AKIDCHAIN: 'chain-secret' } });
    closers.push(fake.close);
    sender = new SesSender({
      region: 'us-east-1',
      endpoint: fake.url,
      accessKeyId: 'AKIDSTATIC',
      secretAccessKey: 'static-secret',
      from: 'hub@example.com',
      configurationSet: 'hub-events',
      unsubscribe: UNSUBSCRIBE,
      timeoutMs: TIMEOUT_MS,
    });
    closers.push(() => sender.close());
  });

  it('sends text and HTML parts, the configuration set and the attempt id tag, signed with the static keys', async () => {
    const req = request('EMAIL', 'alice@example.com', { body: 'Kim & Lee', htmlBody: '<p>Kim &amp; Lee</p>' });
    const accepted = await sender.send(req);
    expect(accepted.vendorMessageId).toMatch(/^0100/);
    const sent = fake.requests.at(-1)!;
    expect(sent.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDSTATIC\//);
    expect(JSON.parse(sent.body)).toEqual({
      FromEmailAddress: 'hub@example.com',
      Destination: { ToAddresses: ['alice@example.com'] },
      Content: {
        Simple: {
          Subject: { Data: 'Sign-in alert', Charset: 'UTF-8' },
          Body: { Text: { Data: 'Kim & Lee', Charset: 'UTF-8' }, Html: { Data: '<p>Kim &amp; Lee</p>', Charset: 'UTF-8' } },
        },
      },
      EmailTags: [{ Name: 'attemptId', Value: req.attemptId }],
      ConfigurationSetName: 'hub-events',
    });
  });

  it('sends a text part only when there is no HTML body', async () => {
    await sender.send(request('EMAIL', 'alice@example.com'));
    expect(JSON.parse(fake.requests.at(-1)!.body).Content.Simple.Body).toEqual({ Text: { Data: 'Was this you?', Charset: 'UTF-8' } });
  });

  it('puts the one-click unsubscribe headers on MARKETING mail only', async () => {
    await sender.send(request('EMAIL', 'alice@example.com', { kind: 'MARKETING', recipientId: 'user-7' }));
    const headers = JSON.parse(fake.requests.at(-1)!.body).Content.Simple.Headers as { Name: string; Value: string }[];
    expect(headers.map((h) => h.Name)).toEqual(['List-Unsubscribe', 'List-Unsubscribe-Post']);
    expectOneClickLink(headers[0]!.Value, 'user-7');
    expect(headers[1]!.Value).toBe('List-Unsubscribe=One-Click');
    await sender.send(request('EMAIL', 'alice@example.com', { kind: 'TRANSACTIONAL' }));
    expect(JSON.parse(fake.requests.at(-1)!.body).Content.Simple.Headers).toBeUndefined();
  });

  it('refuses MARKETING mail as permanent, without calling SES, when no unsubscribe link can be made', async () => {
    const bare = new SesSender({ region: 'us-east-1', endpoint: fake.url, accessKeyId: 'AKIDSTATIC', secretAccessKey: 'static-secret', from: 'hub@example.com', timeoutMs: TIMEOUT_MS });
    const before = fake.requests.length;
    expect((await failure(bare, request('EMAIL', 'alice@example.com', { kind: 'MARKETING' }))).errorClass).toBe('permanent');
    expect(fake.requests.length).toBe(before);
    await bare.close();
  });

  it('classifies throttling (with Retry-After), an illegal address, rejections, server errors and timeouts', async () => {
    const throttled = await failure(sender, request('EMAIL', 'throttled@example.com'));
    expect({ errorClass: throttled.errorClass, retryAfterMs: throttled.retryAfterMs }).toEqual({ errorClass: 'transient', retryAfterMs: 2_000 });
    expect((await failure(sender, request('EMAIL', 'api-throttled@example.com'))).errorClass).toBe('transient');
    expect((await failure(sender, request('EMAIL', 'not-an-address'))).errorClass).toBe('invalid_recipient');
    expect((await failure(sender, request('EMAIL', 'rejected@example.com'))).errorClass).toBe('permanent');
    expect((await failure(sender, request('EMAIL', 'mailfrom@example.com'))).errorClass).toBe('permanent');
    expect((await failure(sender, request('EMAIL', 'error@example.com'))).errorClass).toBe('transient');
    const impatient = new SesSender({ region: 'us-east-1', endpoint: fake.url, accessKeyId: 'AKIDSTATIC', secretAccessKey: 'static-secret', from: 'hub@example.com', timeoutMs: HANG_TIMEOUT_MS });
    expect((await failure(impatient, request('EMAIL', 'hang@example.com'))).errorClass).toBe('transient');
    await impatient.close();
  });

  it('takes an accepted email without a MessageId as a success with no id', async () => {
    expect(await sender.send(request('EMAIL', 'noid@example.com'))).toEqual({ vendorMessageId: null });
  });

  describe('without static keys', () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    afterEach(() => {
      for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    it('signs with the default AWS credential chain (here its environment provider)', async () => {
      process.env.AWS_ACCESS_KEY_ID = 'AKIDCHAIN';
      process.env.AWS_SECRET_ACCESS_KEY = 'chain-secret';
      const chained = new SesSender({ region: 'us-east-1', endpoint: fake.url, from: 'hub@example.com', timeoutMs: TIMEOUT_MS });
      expect((await chained.send(request('EMAIL', 'alice@example.com'))).vendorMessageId).toMatch(/^0100/);
      expect(fake.requests.at(-1)!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDCHAIN\//);
      await chained.close();
    });

    it('fails a request SES does not accept the signature of, without retrying it as transient', async () => {
      process.env.AWS_ACCESS_KEY_ID = 'AKIDCHAIN';
      process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
      const wrong = new SesSender({ region: 'us-east-1', endpoint: fake.url, from: 'hub@example.com', timeoutMs: TIMEOUT_MS });
      const error = await failure(wrong, request('EMAIL', 'alice@example.com'));
      expect(error.errorClass).toBe('permanent');
      expect(error.detail).toMatch(/403 SignatureDoesNotMatch/);
      await wrong.close();
    });
  });
});

interface Received {
  to: string;
  raw: string;
}

describe('SMTP adapter against a real SMTP server', () => {
  let url = '';
  const received: Received[] = [];
  beforeAll(async () => {
    const server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      // Plain-text AUTH on a local test socket; a real relay takes it over TLS (smtps:// or STARTTLS).
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === 'hub' && auth.password === 'relay-password') return callback(null, { user: 'hub' });
        callback(Object.assign(new Error('5.7.8 authentication failed'), { responseCode: 535 }));
      },
      onRcptTo(address, _session, callback) {
        const to = address.address;
        if (to.startsWith('nobody@')) return callback(Object.assign(new Error('5.1.1 mailbox unavailable'), { responseCode: 550 }));
        if (to.startsWith('busy@')) return callback(Object.assign(new Error('4.2.1 try again later'), { responseCode: 451 }));
        if (to.startsWith('throttled@')) return callback(Object.assign(new Error('4.7.0 too many messages, slow down'), { responseCode: 421 }));
        if (to.startsWith('policy@')) return callback(Object.assign(new Error('5.7.1 relaying denied'), { responseCode: 554 }));
        callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          received.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), raw: Buffer.concat(chunks).toString('utf8') });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `smtp://hub:relay-password@127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  });

  const smtp = (options: { url?: string; unsubscribe?: typeof UNSUBSCRIBE; timeoutMs?: number } = {}) => {
    const sender = new SmtpSender({ url: options.url ?? url, from: 'hub@example.com', unsubscribe: options.unsubscribe, timeoutMs: options.timeoutMs ?? TIMEOUT_MS });
    closers.push(() => sender.close());
    return sender;
  };

  it('sends multipart/alternative with the text and the HTML part, authenticated with SMTP AUTH', async () => {
    const accepted = await smtp().send(request('EMAIL', 'alice@example.com', { body: 'Hello Kim & Lee', htmlBody: '<p>Hello Kim &amp; Lee</p>' }));
    expect(accepted.vendorMessageId).toMatch(/^<.+@.+>$/);
    const { raw } = received.at(-1)!;
    expect(raw).toMatch(/^Content-Type: multipart\/alternative;/m);
    expect(raw).toMatch(/Content-Type: text\/plain[\s\S]*Hello Kim & Lee[\s\S]*Content-Type: text\/html[\s\S]*<p>Hello Kim &amp; Lee<\/p>/);
  });

  it('sends a single text part without an HTML body', async () => {
    await smtp().send(request('EMAIL', 'alice@example.com'));
    const { raw } = received.at(-1)!;
    expect(raw).toMatch(/^Content-Type: text\/plain/m);
    expect(raw).not.toMatch(/multipart|text\/html/);
  });

  it('adds List-Unsubscribe and List-Unsubscribe-Post to MARKETING mail only', async () => {
    const sender = smtp({ unsubscribe: UNSUBSCRIBE });
    await sender.send(request('EMAIL', 'alice@example.com', { kind: 'MARKETING', recipientId: 'user-9' }));
    const unfolded = received.at(-1)!.raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
    expectOneClickLink(/^List-Unsubscribe: (.+)$/m.exec(unfolded)![1]!, 'user-9');
    expect(unfolded).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
    await sender.send(request('EMAIL', 'alice@example.com', { kind: 'SECURITY' }));
    expect(received.at(-1)!.raw).not.toMatch(/List-Unsubscribe/);
  });

  it('classifies an unknown mailbox, throttling and temporary refusals, a policy refusal, bad credentials and a silent server', async () => {
    const sender = smtp();
    expect((await failure(sender, request('EMAIL', 'nobody@example.com'))).errorClass).toBe('invalid_recipient');
    expect((await failure(sender, request('EMAIL', 'busy@example.com'))).errorClass).toBe('transient');
    expect((await failure(sender, request('EMAIL', 'throttled@example.com'))).errorClass).toBe('transient');
    expect((await failure(sender, request('EMAIL', 'policy@example.com'))).errorClass).toBe('permanent');
    const wrongPassword = smtp({ url: url.replace('relay-password', 'wrong') });
    expect((await failure(wrongPassword, request('EMAIL', 'alice@example.com'))).errorClass).toBe('permanent');
    // A server that accepts the connection and never greets.
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    const mute = smtp({ url: `smtp://127.0.0.1:${(silent.address() as AddressInfo).port}`, timeoutMs: HANG_TIMEOUT_MS });
    expect((await failure(mute, request('EMAIL', 'alice@example.com'))).errorClass).toBe('transient');
  });
});

describe('Twilio Messages adapter', () => {
  let fake: FakeServer;
  let sender: TwilioSender;
  const options = { accountSid: 'AC123', from: '+15005550006', publicBaseUrl: 'https://hub.example.com', timeoutMs: TIMEOUT_MS };
  beforeAll(async () => {
    fake = await startFakeTwilio({ accountSid: 'AC123', authToken: 'token', apiKey: { sid: 'SK123', secret: 'key-secret' } });
    closers.push(fake.close);
    sender = new TwilioSender({ baseUrl: fake.url, authToken: 'token', ...options });
  });

  it('sends To, From, Body and a StatusCallback to the hub for the attempt, with Basic auth of the account', async () => {
    const req = request('SMS', '+821012345678');
    const accepted = await sender.send(req);
    expect(accepted.vendorMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    const sent = fake.requests.at(-1)!;
    expect(sent.headers.authorization).toBe(`Basic ${Buffer.from('AC123:token').toString('base64')}`);
    expect(Object.fromEntries(new URLSearchParams(sent.body))).toEqual({
      To: '+821012345678',
      From: '+15005550006',
      Body: 'Was this you?',
      StatusCallback: twilioStatusCallbackUrl('https://hub.example.com', req.attemptId),
    });
  });

  it('authenticates with an API key SID and secret instead of the auth token', async () => {
    const keyed = new TwilioSender({ baseUrl: fake.url, apiKeySid: 'SK123', apiKeySecret: 'key-secret', ...options });
    expect((await keyed.send(request('SMS', '+821012345678'))).vendorMessageId).toMatch(/^SM/);
    expect(fake.requests.at(-1)!.headers.authorization).toBe(`Basic ${Buffer.from('SK123:key-secret').toString('base64')}`);
  });

  it('sends no StatusCallback without a public base URL', async () => {
    const quiet = new TwilioSender({ baseUrl: fake.url, accountSid: 'AC123', authToken: 'token', from: 'MG0123456789abcdef0123456789abcdef', timeoutMs: TIMEOUT_MS });
    await quiet.send(request('SMS', '+821012345678'));
    expect(Object.fromEntries(new URLSearchParams(fake.requests.at(-1)!.body))).toEqual({
      To: '+821012345678',
      MessagingServiceSid: 'MG0123456789abcdef0123456789abcdef',
      Body: 'Was this you?',
    });
  });

  it('classifies throttling (with Retry-After), invalid and non-mobile numbers, STOP, a long body, server errors, timeouts and bad credentials', async () => {
    const throttled = await failure(sender, request('SMS', '+15005550429'));
    expect({ errorClass: throttled.errorClass, retryAfterMs: throttled.retryAfterMs }).toEqual({ errorClass: 'transient', retryAfterMs: 3_000 });
    expect((await failure(sender, request('SMS', '+15005550001'))).errorClass).toBe('invalid_recipient');
    expect((await failure(sender, request('SMS', '+15005550009'))).errorClass).toBe('invalid_recipient');
    expect((await failure(sender, request('SMS', '+15005550610'))).errorClass).toBe('permanent');
    expect((await failure(sender, request('SMS', '+821012345678', { body: 'x'.repeat(1601) }))).errorClass).toBe('permanent');
    expect((await failure(sender, request('SMS', '+15005550500'))).errorClass).toBe('transient');
    const impatient = new TwilioSender({ baseUrl: fake.url, authToken: 'token', ...options, timeoutMs: HANG_TIMEOUT_MS });
    expect((await failure(impatient, request('SMS', '+15005550777'))).errorClass).toBe('transient');
    const wrong = new TwilioSender({ baseUrl: fake.url, authToken: 'nope', ...options });
    const refused = await failure(wrong, request('SMS', '+821012345678'));
    expect({ errorClass: refused.errorClass, detail: refused.detail }).toEqual({ errorClass: 'permanent', detail: 'twilio 401 code 20003' });
  });

  it('takes an accepted message without a sid as a success with no id, never as a failure to retry', async () => {
    expect(await sender.send(request('SMS', '+15005550204'))).toEqual({ vendorMessageId: null });
  });
});
