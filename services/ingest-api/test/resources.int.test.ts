import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@hub/db';
import { createTestContext, type TestContext } from '@hub/testing';
import { ingestApp, rowCounts } from './harness.ts';

let ctx: TestContext;
let app: ReturnType<typeof ingestApp>['app'];
let seq = 0;
const uniq = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;
const token = (n: number | string) => `tok-${n}-${'y'.repeat(32)}`;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  ({ app } = ingestApp(ctx));
});
afterAll(async () => {
  await ctx?.close();
});

describe('PUT/GET /recipients/{id}', () => {
  it('creates with 201, replaces with 200, and returns the entry with defaults', async () => {
    const id = uniq('r');
    const created = await request(app).put(`/api/v1/recipients/${id}`).send({ channels: [{ type: 'EMAIL', address: ' a@example.com ' }] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id, channels: [{ type: 'EMAIL', address: 'a@example.com' }], locale: 'ko-kr', timezone: 'Asia/Seoul' });
    const replaced = await request(app)
      .put(`/api/v1/recipients/${id}`)
      .send({ channels: [{ type: 'SMS', address: '+821012345678' }], locale: ' EN-US ', timezone: 'America/New_York' });
    expect(replaced.status).toBe(200);
    const got = await request(app).get(`/api/v1/recipients/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id, channels: [{ type: 'SMS', address: '+821012345678' }], locale: 'en-us', timezone: 'America/New_York' });
  });

  it('trims the id in the path', async () => {
    const id = uniq('trim');
    await request(app).put(`/api/v1/recipients/${encodeURIComponent(`  ${id} `)}`).send({ channels: [] }).expect(201);
    expect((await request(app).get(`/api/v1/recipients/${id}`)).status).toBe(200);
  });

  it.each([
    [{ channels: [{ type: 'EMAIL', address: 'nope' }] }, 'body.channels.0.address'],
    [{ channels: [{ type: 'SMS', address: '01012345678' }] }, 'body.channels.0.address'],
    [{ channels: [{ type: 'KAKAO_ALIMTALK', address: '+82' }] }, 'body.channels.0.address'],
    [{ channels: [{ type: 'PUSH', address: 'x'.repeat(40) }] }, 'body.channels.0.type'],
    [{ channels: [{ type: 'EMAIL', address: '   ' }] }, 'body.channels.0.address'],
    [{ channels: [], timezone: 'Mars/Base' }, 'body.timezone'],
    [{ channels: [], locale: 'korean' }, 'body.locale'],
    [{}, 'body.channels'],
  ])('rejects %j with 400 naming the field and writes nothing', async (body, field) => {
    const before = await rowCounts(ctx);
    const res = await request(app).put(`/api/v1/recipients/${uniq('bad')}`).send(body);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it('rejects an id over 128 characters and answers 404 RECIPIENT_NOT_FOUND for an unknown one', async () => {
    expect((await request(app).put(`/api/v1/recipients/${'x'.repeat(129)}`).send({ channels: [] })).status).toBe(400);
    expect((await request(app).get(`/api/v1/recipients/${uniq('ghost')}`)).body.code).toBe('RECIPIENT_NOT_FOUND');
  });
});

describe('PUT/GET /users/{id}/preferences', () => {
  let id: string;
  beforeAll(async () => {
    id = uniq('p');
    await request(app).put(`/api/v1/recipients/${id}`).send({ channels: [], timezone: 'Europe/Paris' }).expect(201);
  });

  it('returns the defaults for a recipient without preferences', async () => {
    const res = await request(app).get(`/api/v1/users/${id}/preferences`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      recipientId: id,
      kinds: {
        MARKETING: { allowed: true, mandatory: false, preferredChannels: [] },
        TRANSACTIONAL: { allowed: true, mandatory: true, preferredChannels: [] },
        SECURITY: { allowed: true, mandatory: true, preferredChannels: [] },
        SERVICE: { allowed: true, mandatory: false, preferredChannels: [] },
      },
      quietHours: { enabled: true, start: '22:00', end: '08:00' },
      timezone: 'Europe/Paris',
    });
  });

  it('applies partial updates one field at a time and returns the effective preferences', async () => {
    await request(app).put(`/api/v1/users/${id}/preferences`).send({ kind: 'MARKETING', allowed: false }).expect(200);
    await request(app).put(`/api/v1/users/${id}/preferences`).send({ kind: 'MARKETING', preferredChannels: ['SMS', 'PUSH', 'SMS'] }).expect(200);
    await request(app).put(`/api/v1/users/${id}/preferences`).send({ quietStart: '23:30' }).expect(200);
    const res = await request(app).put(`/api/v1/users/${id}/preferences`).send({ timezone: 'Asia/Tokyo' });
    expect(res.body.kinds.MARKETING).toEqual({ allowed: false, mandatory: false, preferredChannels: ['PUSH', 'SMS'] });
    expect(res.body.quietHours).toEqual({ enabled: true, start: '23:30', end: '08:00' });
    expect(res.body.timezone).toBe('Asia/Tokyo');
    const off = await request(app).put(`/api/v1/users/${id}/preferences`).send({ disableQuietHours: true });
    expect(off.body.quietHours.enabled).toBe(false);
    const reset = await request(app).put(`/api/v1/users/${id}/preferences`).send({ timezone: null });
    expect(reset.body.timezone).toBe('Europe/Paris');
    expect((await request(app).get(`/api/v1/users/${id}/preferences`)).body).toEqual(reset.body);
  });

  it.each(['SECURITY', 'TRANSACTIONAL'])('refuses to opt out of mandatory kind %s with 400', async (kind) => {
    const before = await rowCounts(ctx);
    const res = await request(app).put(`/api/v1/users/${id}/preferences`).send({ kind, allowed: false });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'body.allowed', message: `${kind} is mandatory` }]);
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it.each([
    [{ quietStart: '25:00' }, 'body.quietStart'],
    [{ quietStart: '07:00', quietEnd: '07:00' }, 'body.quietEnd'],
    [{ allowed: false }, 'body.allowed'],
    [{ kind: 'SERVICE', preferredChannels: ['FAX'] }, 'body.preferredChannels.0'],
    [{ timezone: 'Nowhere/Special' }, 'body.timezone'],
    [{ disableQuietHours: 'yes' }, 'body.disableQuietHours'],
  ])('rejects %j with 400 naming the field', async (body, field) => {
    const res = await request(app).put(`/api/v1/users/${id}/preferences`).send(body);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('answers 404 RECIPIENT_NOT_FOUND for an unknown recipient', async () => {
    expect((await request(app).get(`/api/v1/users/${uniq('ghost')}/preferences`)).status).toBe(404);
    expect((await request(app).put(`/api/v1/users/${uniq('ghost')}/preferences`).send({ quietStart: '21:00' })).body.code).toBe('RECIPIENT_NOT_FOUND');
  });
});

describe('POST/DELETE /devices', () => {
  it('registers a token once: registering it again returns the existing registration', async () => {
    const id = uniq('d');
    await request(app).put(`/api/v1/recipients/${id}`).send({ channels: [] }).expect(201);
    const first = await request(app).post('/api/v1/devices').send({ recipientId: id, platform: 'IOS', token: token(id) });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ recipientId: id, platform: 'IOS', active: true });
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => request(app).post('/api/v1/devices').send({ recipientId: id, platform: 'IOS', token: token(id) })));
    for (const res of concurrent) {
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(first.body.id);
    }
    const rows = await ctx.database.db.selectFrom('device_tokens').select('id').where('token', '=', token(id)).execute();
    expect(rows).toHaveLength(1);
    expect((await request(app).delete(`/api/v1/devices/${first.body.id}`)).status).toBe(204);
    expect((await request(app).delete(`/api/v1/devices/${first.body.id}`)).body.code).toBe('NOT_FOUND');
  });

  it.each([
    [{ platform: 'ANDROID', token: 'short' }, 'body.token'],
    [{ platform: 'BLACKBERRY', token: token('p') }, 'body.platform'],
    [{ platform: 'WEB', token: `${'z'.repeat(20)} ${'z'.repeat(20)}` }, 'body.token'],
    [{ platform: 'WEB', token: 'z'.repeat(257) }, 'body.token'],
  ])('rejects %j with 400 naming the field', async (body, field) => {
    const res = await request(app).post('/api/v1/devices').send({ recipientId: 'someone', ...body });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('answers 404 for an unknown recipient, and 400 for a malformed device id', async () => {
    expect((await request(app).post('/api/v1/devices').send({ recipientId: uniq('ghost'), platform: 'WEB', token: token('g') })).body.code).toBe('RECIPIENT_NOT_FOUND');
    expect((await request(app).delete('/api/v1/devices/abc')).status).toBe(400);
    expect((await request(app).delete(`/api/v1/devices/${newId()}`)).status).toBe(404);
  });
});

describe('POST/GET /templates', () => {
  it('creates a version with 201, refuses a duplicate (key, locale, channel) with 409 CONFLICT and lists versions', async () => {
    const key = `welcome.mail_${seq++}.v1`;
    const body = { key, locale: 'KO-KR', channelType: 'EMAIL', titleTemplate: 'Hi {name}', bodyTemplate: '<p>{name}</p>' };
    const created = await request(app).post('/api/v1/templates').send(body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ key, locale: 'ko-kr', channelType: 'EMAIL' });
    const duplicate = await request(app).post('/api/v1/templates').send(body);
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('CONFLICT');
    await request(app).post('/api/v1/templates').send({ ...body, locale: 'en' }).expect(201);
    const list = await request(app).get('/api/v1/templates').query({ key });
    expect(list.body.items.map((t: { locale: string }) => t.locale)).toEqual(['en', 'ko-kr']);
  });

  it.each([
    [{ key: 'nodots' }, 'body.key'],
    [{ key: 'Upper.case' }, 'body.key'],
    [{ locale: 'english' }, 'body.locale'],
    [{ channelType: 'FAX' }, 'body.channelType'],
    [{ titleTemplate: '' }, 'body.titleTemplate'],
    [{ titleTemplate: 't'.repeat(201) }, 'body.titleTemplate'],
    [{ bodyTemplate: 'b'.repeat(4001) }, 'body.bodyTemplate'],
    [{ channelType: 'SMS', bodyTemplate: 'b'.repeat(1601) }, 'body.bodyTemplate'],
    [{ channelType: 'SMS', htmlBody: '<p>b</p>' }, 'body.htmlBody'],
  ])('rejects %j with 400 naming the field', async (change, field) => {
    const res = await request(app)
      .post('/api/v1/templates')
      .send({ key: 'valid.key', locale: 'ko-kr', channelType: 'EMAIL', titleTemplate: 't', bodyTemplate: 'b', ...change });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('requires a well-formed key to list', async () => {
    expect((await request(app).get('/api/v1/templates')).status).toBe(400);
  });
});

describe('documentation and unknown routes', () => {
  it('serves an OpenAPI 3.1 document listing every route, and the docs page', async () => {
    const doc = await request(app).get('/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths).sort()).toEqual(
      [
        '/api/v1/deliveries/{attemptId}/ack',
        '/api/v1/devices',
        '/api/v1/devices/{id}',
        '/api/v1/notifications',
        '/api/v1/notifications/me',
        '/api/v1/notifications/{id}',
        '/api/v1/recipients/{id}',
        '/api/v1/templates',
        '/api/v1/unsubscribe/{token}',
        '/api/v1/users/{recipientId}/preferences',
        '/api/v1/vendors/ses/sns',
        '/api/v1/vendors/twilio/status/{attemptId}',
      ].sort(),
    );
    const docs = await request(app).get('/docs');
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('swagger-ui');
  });

  it('answers 400 (not 500) to a path with broken %-encoding', async () => {
    const res = await request(app).get('/api/v1/recipients/%E0%A4%A');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('BAD_REQUEST');
  });

  it('answers problem+json 404 NOT_FOUND for an unknown route', async () => {
    const res = await request(app).get('/api/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body.code).toBe('NOT_FOUND');
  });
});
