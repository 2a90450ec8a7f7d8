// KAKAO_ALIMTALK templates carry the template code approved at the provider and its buttons
// (issue 15, ADR 0027): validated at the API, stored with the template, and copied, rendered,
// onto each attempt so the dispatcher sends the approved template.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '@hub/testing';
import { ingestApp, rowCounts, testClock } from './harness.ts';

const NOON_SEOUL = new Date('2026-03-10T03:00:00Z');

let ctx: TestContext;
let app: ReturnType<typeof ingestApp>['app'];
let seq = 0;
const uniq = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;
const templateKey = () => `shop.shipped_${Date.now().toString(36)}_${++seq}.v1`;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  ({ app } = ingestApp(ctx, { clock: testClock(NOON_SEOUL).now }));
});
afterAll(async () => {
  await ctx?.close();
});

const createTemplate = (body: Record<string, unknown>) => request(app).post('/api/v1/templates').send(body);

const kakaoTemplate = (key: string, extra: Record<string, unknown> = {}) => ({
  key,
  locale: 'ko-kr',
  channelType: 'KAKAO_ALIMTALK',
  titleTemplate: 'Shipped',
  bodyTemplate: '{name}님, 주문 {order}이 발송되었습니다.',
  providerTemplateCode: 'ORDER_SHIPPED_01',
  ...extra,
});

const trackButton = { type: 'WL', name: '배송 조회', linkMobile: 'https://shop.example/track/{order}', linkPc: 'https://shop.example/track/{order}' };
const appButton = { type: 'AL', name: '앱에서 보기', schemeIos: 'shop://orders/{order}', schemeAndroid: 'shop://orders/{order}' };

async function kakaoRecipient(): Promise<string> {
  const id = uniq('user');
  await request(app)
    .put(`/api/v1/recipients/${id}`)
    .send({ channels: [{ type: 'KAKAO_ALIMTALK', address: '+821012345678' }] })
    .expect(201);
  return id;
}

const send = (body: Record<string, unknown>) => request(app).post('/api/v1/notifications').set('Idempotency-Key', uniq('key')).send(body);

const attemptsOf = (notificationId: string) =>
  ctx.database.db.selectFrom('delivery_attempts').selectAll().where('notification_id', '=', notificationId).orderBy('id').execute();

describe('POST /templates for KAKAO_ALIMTALK', () => {
  it('stores the provider template code and the buttons, and lists them', async () => {
    const key = templateKey();
    const res = await createTemplate(kakaoTemplate(key, { buttons: [trackButton, appButton] }));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ channelType: 'KAKAO_ALIMTALK', providerTemplateCode: 'ORDER_SHIPPED_01', buttons: [trackButton, appButton] });
    const listed = await request(app).get('/api/v1/templates').query({ key }).expect(200);
    expect(listed.body.items ?? listed.body).toEqual(expect.arrayContaining([expect.objectContaining({ providerTemplateCode: 'ORDER_SHIPPED_01', buttons: [trackButton, appButton] })]));
  });

  it('documents providerTemplateCode and buttons in the OpenAPI document', async () => {
    const doc = await request(app).get('/openapi.json').expect(200);
    const text = JSON.stringify(doc.body.paths['/api/v1/templates'].post);
    expect(text).toContain('providerTemplateCode');
    expect(text).toContain('linkMobile');
  });

  it('answers null code and buttons for templates of other channels', async () => {
    const res = await createTemplate({ key: templateKey(), locale: 'ko-kr', channelType: 'SMS', titleTemplate: 't', bodyTemplate: 'b' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ providerTemplateCode: null, buttons: null });
  });

  it.each([
    ['a KAKAO_ALIMTALK template without a provider template code', { providerTemplateCode: undefined }, 'providerTemplateCode'],
    ['a provider template code with a space', { providerTemplateCode: 'ORDER 01' }, 'providerTemplateCode'],
    ['a provider template code over 64 characters', { providerTemplateCode: 'X'.repeat(65) }, 'providerTemplateCode'],
    ['six buttons', { buttons: Array.from({ length: 6 }, () => trackButton) }, 'buttons'],
    ['a button of an unknown type', { buttons: [{ type: 'XX', name: 'x' }] }, 'buttons.0.type'],
    ['a WL button without linkMobile', { buttons: [{ type: 'WL', name: 'Track' }] }, 'buttons.0.linkMobile'],
    ['a WL button whose link is not http(s)', { buttons: [{ type: 'WL', name: 'Track', linkMobile: 'javascript:alert(1)' }] }, 'buttons.0.linkMobile'],
    ['an AL button without its app schemes', { buttons: [{ type: 'AL', name: 'Open', schemeIos: 'shop://x' }] }, 'buttons.0.schemeAndroid'],
    ['a bot-keyword button with a link', { buttons: [{ type: 'BK', name: 'Help', linkMobile: 'https://x.example' }] }, 'buttons.0.linkMobile'],
    ['a button name over 14 characters', { buttons: [{ type: 'DS', name: 'x'.repeat(15) }] }, 'buttons.0.name'],
    ['a button with a field SENS does not take', { buttons: [{ type: 'DS', name: 'Track', color: 'red' }] }, 'buttons.0'],
    ['an AlimTalk body over 1,000 characters', { bodyTemplate: '가'.repeat(1_001) }, 'bodyTemplate'],
  ])('answers 400 for %s and stores nothing', async (_case, change, field) => {
    const before = await rowCounts(ctx);
    const body = { ...kakaoTemplate(templateKey()), ...change };
    const res = await createTemplate(JSON.parse(JSON.stringify(body)));
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('BAD_REQUEST');
    expect(JSON.stringify(res.body.errors)).toContain(`body.${field}`);
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it.each([
    ['EMAIL', { providerTemplateCode: 'ORDER_SHIPPED_01' }, 'providerTemplateCode'],
    ['SMS', { providerTemplateCode: 'ORDER_SHIPPED_01' }, 'providerTemplateCode'],
    ['PUSH', { buttons: [trackButton] }, 'buttons'],
    ['SMS', { buttons: [trackButton] }, 'buttons'],
  ])('answers 400 for a %s template with AlimTalk fields and stores nothing', async (channelType, extra, field) => {
    const before = await rowCounts(ctx);
    const res = await createTemplate({ key: templateKey(), locale: 'ko-kr', channelType, titleTemplate: 't', bodyTemplate: 'b', ...extra });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.errors)).toContain(`body.${field}`);
    expect(await rowCounts(ctx)).toEqual(before);
  });
});

describe('KAKAO_ALIMTALK notifications', () => {
  it("copy the template's provider code and its buttons, rendered, onto the attempt", async () => {
    const key = templateKey();
    await createTemplate(kakaoTemplate(key, { buttons: [trackButton, appButton] })).expect(201);
    const res = await send({ recipientId: await kakaoRecipient(), kind: 'TRANSACTIONAL', templateKey: key, payload: { name: '김', order: 'A-42' } });
    expect(res.status).toBe(202);
    const [attempt] = await attemptsOf(res.body.notificationId);
    expect(attempt).toMatchObject({
      channel: 'KAKAO_ALIMTALK',
      rendered_body: '김님, 주문 A-42이 발송되었습니다.',
      provider_template_code: 'ORDER_SHIPPED_01',
      buttons: [
        { ...trackButton, linkMobile: 'https://shop.example/track/A-42', linkPc: 'https://shop.example/track/A-42' },
        { ...appButton, schemeIos: 'shop://orders/A-42', schemeAndroid: 'shop://orders/A-42' },
      ],
    });
  });

  it('answer 400 naming a variable only a button uses, and write nothing', async () => {
    const key = templateKey();
    await createTemplate(kakaoTemplate(key, { bodyTemplate: '주문이 발송되었습니다.', buttons: [trackButton] })).expect(201);
    const id = await kakaoRecipient();
    const before = await rowCounts(ctx);
    const res = await send({ recipientId: id, kind: 'TRANSACTIONAL', templateKey: key, payload: {} });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'payload.order', message: 'required by the template' }]);
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it('sent with a plain title and body are accepted without a template code (the dispatcher decides, ADR 0027)', async () => {
    const res = await send({ recipientId: await kakaoRecipient(), kind: 'TRANSACTIONAL', title: 'Shipped', body: 'Your order has shipped.' });
    expect(res.status).toBe(202);
    const [attempt] = await attemptsOf(res.body.notificationId);
    expect(attempt).toMatchObject({ channel: 'KAKAO_ALIMTALK', provider_template_code: null, buttons: null });
  });
});
