import { SignJWT, generateKeyPair } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@hub/db';
import { createTestContext, type TestContext } from '@hub/testing';
import { JWT_ISSUER, deadUrl, ingestApp, startJwks, type Jwks } from './harness.ts';

let ctx: TestContext;
let jwks: Jwks;
let app: ReturnType<typeof ingestApp>['app'];
let foreign: string;

const EXEMPT_PATHS = new Set(['/api/v1/deliveries/{attemptId}/ack', '/api/v1/unsubscribe/{token}', '/api/v1/vendors/twilio/status/{attemptId}', '/api/v1/vendors/ses/sns']);

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  jwks = await startJwks();
  const other = await generateKeyPair('ES256');
  foreign = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(JWT_ISSUER).setExpirationTime('5m').sign(other.privateKey);
  ({ app } = ingestApp(ctx, { env: jwks.env }));
});
afterAll(async () => {
  await jwks?.close();
  await ctx?.close();
});

/** Every operation of the public API, from the OpenAPI document (so a new route is covered too). */
async function publicOperations(): Promise<{ method: 'get' | 'put' | 'post' | 'delete'; path: string }[]> {
  const doc = await request(app).get('/openapi.json').expect(200);
  const operations: { method: 'get' | 'put' | 'post' | 'delete'; path: string }[] = [];
  for (const [path, item] of Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)) {
    if (EXEMPT_PATHS.has(path)) continue;
    for (const method of Object.keys(item) as ('get' | 'put' | 'post' | 'delete')[]) {
      operations.push({ method, path: path.replace('{id}', newId()).replace('{recipientId}', 'someone') });
    }
  }
  return operations;
}

describe('caller authentication with INGEST_JWKS_URL', () => {
  it('refuses every public route without a Bearer token with 401, before validating its input', async () => {
    const operations = await publicOperations();
    // The document must list the whole public API, or this table would silently shrink.
    expect(operations.map((o) => `${o.method} ${o.path.replace(/[0-9a-f-]{36}/, '{id}')}`).sort()).toEqual(
      [
        'delete /api/v1/devices/{id}',
        'get /api/v1/notifications/me',
        'get /api/v1/notifications/{id}',
        'get /api/v1/recipients/{id}',
        'get /api/v1/templates',
        'get /api/v1/users/someone/preferences',
        'post /api/v1/devices',
        'post /api/v1/notifications',
        'post /api/v1/templates',
        'put /api/v1/recipients/{id}',
        'put /api/v1/users/someone/preferences',
      ].sort(),
    );
    for (const { method, path } of operations) {
      for (const authorization of [undefined, 'Basic dXNlcjpwYXNz', 'Bearer']) {
        let req = request(app)[method](path);
        if (authorization) req = req.set('Authorization', authorization);
        const res = await req.send({});
        expect({ method, path, authorization, status: res.status, code: res.body.code }).toEqual({ method, path, authorization, status: 401, code: 'UNAUTHORIZED' });
      }
    }
  });

  it('refuses an unknown route under /api/v1 without a token too (nothing is open by default)', async () => {
    expect((await request(app).get('/api/v1/something-new')).status).toBe(401);
  });

  it('leaves the operational routes, the documentation and vendor receipts open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']) {
      expect({ path, status: (await request(app).get(path)).status }).toEqual({ path, status: 200 });
    }
    // A receipt is judged by its own signature check, not by the Bearer check.
    const receipt = await request(app).post(`/api/v1/deliveries/${newId()}/ack`).send({ success: true });
    expect(receipt.status).toBe(401);
    expect(receipt.body.message).not.toMatch(/bearer/i);
  });

  it('accepts a token signed by a key from the JWKS', async () => {
    const res = await request(app)
      .put('/api/v1/recipients/auth-user')
      .set('Authorization', `Bearer ${await jwks.token()}`)
      .send({ channels: [] });
    expect(res.status).toBe(201);
  });

  it.each([
    ['signed by another key', async () => foreign],
    ['from another issuer', () => jwks.token({ issuer: 'https://evil.test' })],
    ['for another audience', () => jwks.token({ audience: 'some-other-api' })],
    ['expired', () => jwks.token({ expiresIn: '-1m' })],
    ['without a subject', () => jwks.token({ sub: null })],
    ['with an empty subject', () => jwks.token({ sub: '' })],
    ['with a recipient_id claim that is not a recipient id', () => jwks.token({ claims: { recipient_id: 42 } })],
    ['with a blank recipient_id claim', () => jwks.token({ claims: { recipient_id: '  ' } })],
    ['not a JWT', async () => 'abc.def.ghi'],
  ])('refuses a token %s with 401', async (_name, make) => {
    const res = await request(app).get('/api/v1/recipients/auth-user').set('Authorization', `Bearer ${await make()}`);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHORIZED');
  });

  it('documents the bearer scheme on every public route of the OpenAPI document, and none on receipts', async () => {
    const doc = await request(app).get('/openapi.json');
    expect(doc.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [path, item] of Object.entries(doc.body.paths as Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>)) {
      for (const [method, operation] of Object.entries(item)) {
        if (EXEMPT_PATHS.has(path)) {
          expect({ path, method, security: operation.security }).toEqual({ path, method, security: undefined });
        } else {
          expect({ path, method, security: operation.security }).toEqual({ path, method, security: [{ bearer: [] }] });
          expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '503']));
        }
      }
    }
  });
});

describe('a JWKS that cannot be fetched', () => {
  const expectUnavailable = (res: request.Response) => {
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('UNAVAILABLE');
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  };

  it('answers 503 UNAVAILABLE with Retry-After, not 401, when nothing listens at the JWKS URL', async () => {
    const stopped = await startJwks();
    const token = await stopped.token();
    await stopped.close();
    const { app: down } = ingestApp(ctx, { env: { ...stopped.env, INGEST_JWKS_URL: await deadUrl() } });
    expectUnavailable(await request(down).get('/api/v1/recipients/auth-user').set('Authorization', `Bearer ${token}`));
  });

  it('answers 503 while the JWKS answers 5xx, and verifies again once it is back', async () => {
    const idp = await startJwks();
    try {
      const { app: flaky } = ingestApp(ctx, { env: idp.env });
      const token = await idp.token({ sub: 'flaky-caller' });
      idp.answer('error');
      expectUnavailable(await request(flaky).put('/api/v1/recipients/flaky-user').set('Authorization', `Bearer ${token}`).send({ channels: [] }));
      idp.answer('up');
      expect((await request(flaky).put('/api/v1/recipients/flaky-user').set('Authorization', `Bearer ${token}`).send({ channels: [] })).status).toBe(201);
    } finally {
      await idp.close();
    }
  });

  it('answers 503 when the JWKS does not answer within INGEST_JWKS_TIMEOUT_MS', async () => {
    const idp = await startJwks();
    try {
      idp.answer('hang');
      const { app: slow } = ingestApp(ctx, { env: { ...idp.env, INGEST_JWKS_TIMEOUT_MS: '300' } });
      expectUnavailable(await request(slow).get('/api/v1/recipients/auth-user').set('Authorization', `Bearer ${await idp.token()}`));
    } finally {
      await idp.close();
    }
  });

  it('still refuses a token that is not a JWT with 401 (no key is needed to tell)', async () => {
    const { app: down } = ingestApp(ctx, { env: { ...jwks.env, INGEST_JWKS_URL: await deadUrl() } });
    const res = await request(down).get('/api/v1/recipients/auth-user').set('Authorization', 'Bearer abc.def.ghi');
    expect(res.status).toBe(401);
  });
});
