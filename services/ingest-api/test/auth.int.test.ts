import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '@hub/testing';
import { ingestApp } from './harness.ts';

let ctx: TestContext;
let jwks: Server;
let app: ReturnType<typeof ingestApp>['app'];
let sign: (claims?: { issuer?: string; expiresIn?: string }) => Promise<string>;
let foreign: string;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const other = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  // A local JWKS endpoint, answering like an identity provider's /.well-known/jwks.json.
  jwks = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
  sign = (claims = {}) =>
    new SignJWT({ sub: 'caller-1' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(claims.issuer ?? 'https://issuer.test')
      .setIssuedAt()
      .setExpirationTime(claims.expiresIn ?? '5m')
      .sign(privateKey);
  foreign = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('https://issuer.test').setExpirationTime('5m').sign(other.privateKey);
  ({ app } = ingestApp(ctx, { env: { INGEST_JWKS_URL: url, INGEST_JWT_ISSUER: 'https://issuer.test' } }));
});
afterAll(async () => {
  await new Promise((resolve) => jwks?.close(resolve));
  await ctx?.close();
});

describe('caller authentication with INGEST_JWKS_URL', () => {
  it.each([
    ['put', '/api/v1/recipients/auth-user'],
    ['get', '/api/v1/recipients/auth-user'],
    ['post', '/api/v1/notifications'],
    ['get', '/api/v1/notifications/me'],
    ['post', '/api/v1/templates'],
    ['get', '/api/v1/templates'],
  ] as const)('refuses %s %s without a Bearer token with 401', async (method, path) => {
    const res = await request(app)[method](path).send({});
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHORIZED');
  });

  it('accepts a token signed by a key from the JWKS', async () => {
    const res = await request(app)
      .put('/api/v1/recipients/auth-user')
      .set('Authorization', `Bearer ${await sign()}`)
      .send({ channels: [] });
    expect(res.status).toBe(201);
  });

  it.each([
    ['signed by another key', async () => foreign],
    ['from another issuer', () => sign({ issuer: 'https://evil.test' })],
    ['expired', () => sign({ expiresIn: '-1m' })],
    ['not a JWT', async () => 'abc.def.ghi'],
  ])('refuses a token %s with 401', async (_name, make) => {
    const res = await request(app).get('/api/v1/recipients/auth-user').set('Authorization', `Bearer ${await make()}`);
    expect(res.status).toBe(401);
  });

  it('leaves the device, preference and receipt routes to their own rules', async () => {
    expect((await request(app).get('/api/v1/users/nobody/preferences')).status).toBe(404);
    expect((await request(app).post('/api/v1/devices').send({})).status).toBe(400);
  });

  it('documents the bearer scheme in the OpenAPI document', async () => {
    const doc = await request(app).get('/openapi.json');
    expect(doc.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.body.paths['/api/v1/notifications'].post.security).toEqual([{ bearer: [] }]);
  });
});
