// The Kakao AlimTalk adapter against a fake of NAVER Cloud SENS that answers the way SENS
// documents it: the API gateway v2 signature, the template code and buttons of each message,
// international numbers, Retry-After on throttling, and every error class.
// (No Postgres/Redis/Kafka here: the vendor is the only external, and this is its fake.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKakao, type FakeServer } from './fakes/index.ts';
import { KakaoAlimtalkSender, type KakaoOptions } from './kakao.ts';
import { VendorError, type VendorRequest } from './types.ts';

const TIMEOUT_MS = 500;
const credentials = { serviceId: 'ncp:kkobizmsg:kr:123:hub', accessKey: 'access', secretKey: 'secret' };
let fake: FakeServer;
let sender: KakaoAlimtalkSender;

function senderWith(overrides: Partial<KakaoOptions> = {}): KakaoAlimtalkSender {
  return new KakaoAlimtalkSender({ baseUrl: fake.url, ...credentials, plusFriendId: '@hub', timeoutMs: TIMEOUT_MS, ...overrides });
}

function alimtalk(address: string, extra: Partial<VendorRequest> = {}): VendorRequest {
  return {
    attemptId: crypto.randomUUID(),
    channel: 'KAKAO_ALIMTALK',
    address,
    title: 'Order shipped',
    body: 'Kim, your order 42 has shipped.',
    providerTemplateCode: 'ORDER_SHIPPED',
    ...extra,
  };
}

async function failure(s: KakaoAlimtalkSender, request: VendorRequest): Promise<VendorError> {
  const error = await s.send(request).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(VendorError);
  expect((error as VendorError).message).toMatch(/^(transient|permanent|invalid_recipient): /);
  return error as VendorError;
}

const lastBody = () => JSON.parse(fake.requests.at(-1)!.body);

beforeAll(async () => {
  fake = await startFakeKakao({ ...credentials, templateCodes: ['ORDER_SHIPPED', 'PLAIN_NOTICE'], retryAfterSeconds: 3 });
  sender = senderWith();
});
afterAll(() => fake.close());

describe('Kakao AlimTalk adapter (NAVER Cloud SENS)', () => {
  it("sends the template's own code, the rendered content and its buttons, signed, and returns the messageId", async () => {
    const buttons = [
      { type: 'WL', name: 'Track', linkMobile: 'https://shop.example/t/42', linkPc: 'https://shop.example/t/42' },
      { type: 'AL', name: 'Open app', schemeIos: 'shop://orders/42', schemeAndroid: 'shop://orders/42' },
    ];
    const accepted = await sender.send(alimtalk('+821012345678', { buttons }));
    expect(accepted.vendorMessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(lastBody()).toEqual({
      plusFriendId: '@hub',
      templateCode: 'ORDER_SHIPPED',
      messages: [{ countryCode: '82', to: '01012345678', content: 'Kim, your order 42 has shipped.', buttons }],
    });
    expect(fake.requests.at(-1)!.headers['x-ncp-iam-access-key']).toBe('access');
  });

  it('sends international numbers with their own country code and national number', async () => {
    await sender.send(alimtalk('+447911123456'));
    expect(lastBody().messages[0]).toMatchObject({ countryCode: '44', to: '7911123456' });
    await sender.send(alimtalk('+819012345678'));
    expect(lastBody().messages[0]).toMatchObject({ countryCode: '81', to: '9012345678' });
  });

  it('refuses an invalid phone number as an invalid recipient without calling SENS', async () => {
    const before = fake.requests.length;
    expect((await failure(sender, alimtalk('+8212'))).errorClass).toBe('invalid_recipient');
    expect((await failure(sender, alimtalk('not-a-number'))).errorClass).toBe('invalid_recipient');
    expect(fake.requests.length).toBe(before);
  });

  it('uses KAKAO_TEMPLATE_CODE for an attempt without a template code, and fails permanently without a call when none is set', async () => {
    await senderWith({ defaultTemplateCode: 'PLAIN_NOTICE' }).send(alimtalk('+821012345678', { providerTemplateCode: null }));
    expect(lastBody().templateCode).toBe('PLAIN_NOTICE');
    const before = fake.requests.length;
    const error = await failure(sender, alimtalk('+821012345678', { providerTemplateCode: null }));
    expect(error.errorClass).toBe('permanent');
    expect(error.detail).toMatch(/no AlimTalk template code/);
    expect(fake.requests.length).toBe(before);
  });

  it('classifies throttling as transient with the Retry-After of SENS', async () => {
    const error = await failure(sender, alimtalk('+821000000429'));
    expect(error.errorClass).toBe('transient');
    expect(error.retryAfterMs).toBe(3_000);
  });

  it('classifies a recipient who cannot receive AlimTalk as an invalid recipient', async () => {
    expect((await failure(sender, alimtalk('+821000000001'))).errorClass).toBe('invalid_recipient');
  });

  it('classifies a template code SENS does not know as permanent', async () => {
    expect((await failure(sender, alimtalk('+821012345678', { providerTemplateCode: 'NEVER_APPROVED' }))).errorClass).toBe('permanent');
  });

  it('classifies a server error and a vendor that never answers as transient', async () => {
    expect((await failure(sender, alimtalk('+821000000500'))).errorClass).toBe('transient');
    const hang = await failure(sender, alimtalk('+821000000777'));
    expect(hang.errorClass).toBe('transient');
    expect(hang.detail).toBe(`kakao did not answer within ${TIMEOUT_MS} ms`);
  });

  it('classifies a refused signature (wrong secret key) as permanent', async () => {
    expect((await failure(senderWith({ secretKey: 'wrong' }), alimtalk('+821012345678'))).errorClass).toBe('permanent');
  });

  it('takes an accepted AlimTalk without a messageId as a success with no id', async () => {
    expect(await sender.send(alimtalk('+821000000204'))).toEqual({ vendorMessageId: null });
  });
});
