// Each real vendor adapter against a local server that answers the way the vendor documents:
// success ids, throttling, invalid recipient, server errors and a vendor that never answers.
// (No Postgres/Redis/Kafka here: the vendors are the only externals, and these are their fakes.)
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import type { ErrorClass } from '@hub/domain';
import { startFakeSes, startFakeTwilio, type FakeServer } from './fakes/index.ts';
import { SesSender } from './ses.ts';
import { SmtpSender } from './smtp.ts';
import { TwilioSender } from './twilio.ts';
import { VendorError, type VendorRequest, type VendorSender } from './types.ts';

const TIMEOUT_MS = 500;
const servers: { close: () => Promise<void> }[] = [];

function request(channel: VendorRequest['channel'], address: string): VendorRequest {
  return { attemptId: crypto.randomUUID(), channel, address, title: 'Sign-in alert', body: 'Was this you?' };
}

async function failure(sender: VendorSender, req: VendorRequest): Promise<ErrorClass> {
  const error = await sender.send(req).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(VendorError);
  expect((error as VendorError).message).toMatch(/^(transient|permanent|invalid_recipient): /);
  return (error as VendorError).errorClass;
}

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

// FCM and Kakao AlimTalk have their own files: fcm.int.test.ts, kakao.int.test.ts.

describe('Amazon SES v2 adapter', () => {
  let fake: FakeServer;
  let sender: SesSender;
  beforeAll(async () => {
    fake = await startFakeSes();
    servers.push(fake);
    sender = new SesSender({
      region: 'us-east-1',
      endpoint: fake.url,
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'secret',
      from: 'hub@example.com',
      timeoutMs: TIMEOUT_MS,
    });
  });
  afterAll(() => sender.close());

  it('takes an accepted email without a MessageId as a success with no id', async () => {
    expect(await sender.send(request('EMAIL', 'noid@example.com'))).toEqual({ vendorMessageId: null });
  });

  it('returns the SES MessageId of a sent email, signed with SigV4', async () => {
    const accepted = await sender.send(request('EMAIL', 'alice@example.com'));
    expect(accepted.vendorMessageId).toMatch(/^0100/);
    const sent = JSON.parse(fake.requests.at(-1)!.body);
    expect(sent).toMatchObject({ FromEmailAddress: 'hub@example.com', Destination: { ToAddresses: ['alice@example.com'] } });
    expect(fake.requests.at(-1)!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//);
  });

  it('classifies throttling, an illegal address, a rejected message, server errors and timeouts', async () => {
    expect(await failure(sender, request('EMAIL', 'throttled@example.com'))).toBe('transient');
    expect(await failure(sender, request('EMAIL', 'not-an-address'))).toBe('invalid_recipient');
    expect(await failure(sender, request('EMAIL', 'rejected@example.com'))).toBe('permanent');
    expect(await failure(sender, request('EMAIL', 'error@example.com'))).toBe('transient');
    expect(await failure(sender, request('EMAIL', 'hang@example.com'))).toBe('transient');
  });
});

describe('SMTP adapter against a real SMTP server', () => {
  let sender: SmtpSender;
  const delivered: string[] = [];
  let port = 0;
  beforeAll(async () => {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onRcptTo(address, _session, callback) {
        const to = address.address;
        if (to.startsWith('nobody@')) return callback(Object.assign(new Error('5.1.1 mailbox unavailable'), { responseCode: 550 }));
        if (to.startsWith('busy@')) return callback(Object.assign(new Error('4.2.1 try again later'), { responseCode: 451 }));
        if (to.startsWith('policy@')) return callback(Object.assign(new Error('5.7.1 relaying denied'), { responseCode: 554 }));
        callback();
      },
      onData(stream, session, callback) {
        stream.resume();
        stream.on('end', () => {
          delivered.push(session.envelope.rcptTo.map((r) => r.address).join(','));
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.server.address() as AddressInfo).port;
    servers.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
    sender = new SmtpSender({ url: `smtp://127.0.0.1:${port}`, from: 'hub@example.com', timeoutMs: TIMEOUT_MS });
  });
  afterAll(() => sender.close());

  it('returns the Message-ID of an accepted email', async () => {
    const accepted = await sender.send(request('EMAIL', 'alice@example.com'));
    expect(accepted.vendorMessageId).toMatch(/^<.+@.+>$/);
    expect(delivered).toContain('alice@example.com');
  });

  it('classifies an unknown mailbox, a temporary refusal, a policy refusal and a silent server', async () => {
    expect(await failure(sender, request('EMAIL', 'nobody@example.com'))).toBe('invalid_recipient');
    expect(await failure(sender, request('EMAIL', 'busy@example.com'))).toBe('transient');
    expect(await failure(sender, request('EMAIL', 'policy@example.com'))).toBe('permanent');
    // A server that accepts the connection and never greets.
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => new Promise<void>((resolve) => silent.close(() => resolve())) });
    const mute = new SmtpSender({ url: `smtp://127.0.0.1:${(silent.address() as AddressInfo).port}`, from: 'hub@example.com', timeoutMs: 300 });
    expect(await failure(mute, request('EMAIL', 'alice@example.com'))).toBe('transient');
    await mute.close();
  });
});

describe('Twilio Messages adapter', () => {
  let fake: FakeServer;
  let sender: TwilioSender;
  beforeAll(async () => {
    fake = await startFakeTwilio({ accountSid: 'AC123', authToken: 'token' });
    servers.push(fake);
    sender = new TwilioSender({ baseUrl: fake.url, accountSid: 'AC123', authToken: 'token', from: '+15005550006', timeoutMs: TIMEOUT_MS });
  });

  it('returns the message sid and sends To, From and Body', async () => {
    const accepted = await sender.send(request('SMS', '+821012345678'));
    expect(accepted.vendorMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    const form = new URLSearchParams(fake.requests.at(-1)!.body);
    expect(Object.fromEntries(form)).toEqual({ To: '+821012345678', From: '+15005550006', Body: 'Was this you?' });
  });

  it('classifies throttling, invalid and non-mobile numbers, server errors, timeouts and bad credentials', async () => {
    expect(await failure(sender, request('SMS', '+15005550429'))).toBe('transient');
    expect(await failure(sender, request('SMS', '+15005550001'))).toBe('invalid_recipient');
    expect(await failure(sender, request('SMS', '+15005550009'))).toBe('invalid_recipient');
    expect(await failure(sender, request('SMS', '+15005550500'))).toBe('transient');
    expect(await failure(sender, request('SMS', '+15005550777'))).toBe('transient');
    const wrong = new TwilioSender({ baseUrl: fake.url, accountSid: 'AC123', authToken: 'nope', from: '+15005550006', timeoutMs: TIMEOUT_MS });
    expect(await failure(wrong, request('SMS', '+821012345678'))).toBe('permanent');
  });

  it('takes an accepted message without a sid as a success with no id, never as a failure to retry', async () => {
    expect(await sender.send(request('SMS', '+15005550204'))).toEqual({ vendorMessageId: null });
  });
});
