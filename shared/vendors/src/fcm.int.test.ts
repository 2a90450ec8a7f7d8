// The FCM adapter against a fake of Google's token endpoint and FCM HTTP v1 that answer the way
// Google documents them: the service-account token exchange (signed JWT → access token, cached,
// refreshed), per-platform messages, Retry-After on throttling, and every error class.
// (No Postgres/Redis/Kafka here: the vendor is the only external, and this is its fake.)
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createVendorSender, vendorEnv } from './config.ts';
import { startFakeFcm, type FakeFcm } from './fakes/index.ts';
import { FcmSender, type FcmOptions } from './fcm.ts';
import { VendorError, type VendorRequest } from './types.ts';

const TIMEOUT_MS = 500;
const PROJECT = 'test-project';
const CLIENT_EMAIL = 'hub@test-project.iam.gserviceaccount.com';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicKeyPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const servers: { close: () => Promise<void> }[] = [];
const tempDir = mkdtempSync(path.join(tmpdir(), 'fcm-key-'));

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(tempDir, { recursive: true, force: true });
});

async function fakeFcm(options: { expiresInSeconds?: number; retryAfterSeconds?: number } = {}): Promise<FakeFcm> {
  const fake = await startFakeFcm({ projectId: PROJECT, clientEmail: CLIENT_EMAIL, publicKeyPem, ...options });
  servers.push(fake);
  return fake;
}

function senderFor(fake: FakeFcm, overrides: Partial<FcmOptions> = {}): FcmSender {
  return new FcmSender({
    baseUrl: fake.url,
    projectId: PROJECT,
    credentials: { type: 'service_account', clientEmail: CLIENT_EMAIL, privateKey: privateKeyPem },
    tokenUrl: fake.tokenUrl,
    ttlSeconds: 3_600,
    timeoutMs: TIMEOUT_MS,
    ...overrides,
  });
}

function push(address: string, extra: Partial<VendorRequest> = {}): VendorRequest {
  return { attemptId: crypto.randomUUID(), channel: 'PUSH', address, title: 'Sign-in alert', body: 'Was this you?', ...extra };
}

async function failure(sender: FcmSender, request: VendorRequest): Promise<VendorError> {
  const error = await sender.send(request).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(VendorError);
  expect((error as VendorError).message).toMatch(/^(transient|permanent|invalid_recipient): /);
  return error as VendorError;
}

const sends = (fake: FakeFcm) => fake.requests.filter((r) => r.path.endsWith('/messages:send'));
const tokenRequests = (fake: FakeFcm) => fake.requests.filter((r) => r.path === '/token');

describe('FCM service-account OAuth 2.0 flow', () => {
  it('exchanges an RS256 JWT signed by the service account for an access token and sends with it', async () => {
    const fake = await fakeFcm();
    const accepted = await senderFor(fake).send(push('device-token-ok'));
    expect(accepted.vendorMessageId).toMatch(/^projects\/test-project\/messages\//);
    const [exchange] = tokenRequests(fake);
    const form = new URLSearchParams(exchange!.body);
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    expect(decodeProtectedHeader(form.get('assertion')!)).toMatchObject({ alg: 'RS256' });
    expect(fake.issued).toHaveLength(1);
    expect(sends(fake)[0]!.headers.authorization).toBe(`Bearer ${fake.issued[0]}`);
  });

  it('reuses the access token until shortly before it expires', async () => {
    const fake = await fakeFcm({ expiresInSeconds: 3_599 });
    const sender = senderFor(fake);
    // Concurrent first calls share one exchange, and later ones reuse its token.
    await Promise.all(Array.from({ length: 5 }, () => sender.send(push('device-token-ok'))));
    for (let i = 0; i < 3; i++) await sender.send(push('device-token-ok'));
    expect(tokenRequests(fake)).toHaveLength(1);
    expect(new Set(sends(fake).map((r) => r.headers.authorization))).toEqual(new Set([`Bearer ${fake.issued[0]}`]));
  });

  it('refreshes a token that is inside the refresh margin before its expiry', async () => {
    // 60 s of life against a 5-minute margin: every send finds the token expiring and refreshes it.
    const fake = await fakeFcm({ expiresInSeconds: 60 });
    const sender = senderFor(fake, { refreshMarginMs: 300_000 });
    await sender.send(push('device-token-ok'));
    await sender.send(push('device-token-ok'));
    expect(fake.issued).toHaveLength(2);
    expect(sends(fake).map((r) => r.headers.authorization)).toEqual(fake.issued.map((t) => `Bearer ${t}`));
  });

  it('drops a token FCM refuses (transient) and exchanges a fresh one for the next call', async () => {
    const fake = await fakeFcm();
    const sender = senderFor(fake);
    await sender.send(push('device-token-ok'));
    fake.revokeAll();
    expect((await failure(sender, push('device-token-ok'))).errorClass).toBe('transient');
    await sender.send(push('device-token-ok'));
    expect(fake.issued).toHaveLength(2);
    expect(sends(fake).at(-1)!.headers.authorization).toBe(`Bearer ${fake.issued[1]}`);
  });

  it('fails permanently, without calling FCM, when the token endpoint refuses the key (invalid_grant)', async () => {
    const fake = await fakeFcm();
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const sender = senderFor(fake, { credentials: { type: 'service_account', clientEmail: CLIENT_EMAIL, privateKey: otherKey } });
    const error = await failure(sender, push('device-token-ok'));
    expect(error.errorClass).toBe('permanent');
    expect(error.detail).toBe('fcm token endpoint 400 invalid_grant');
    expect(sends(fake)).toHaveLength(0);
  });

  it('counts a token endpoint outage as transient, and exchanges again once it is back', async () => {
    const fake = await fakeFcm();
    const sender = senderFor(fake);
    fake.failTokenEndpoint(503);
    const error = await failure(sender, push('device-token-ok'));
    expect(error.errorClass).toBe('transient');
    expect(error.detail).toBe('fcm token endpoint 503 internal_failure');
    fake.failTokenEndpoint(null);
    expect((await sender.send(push('device-token-ok'))).vendorMessageId).not.toBeNull();
    expect(fake.issued).toHaveLength(1);
  });

  it('counts an unreachable token endpoint as transient', async () => {
    const fake = await fakeFcm();
    // A port that was free a moment ago: connection refused.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const error = await failure(senderFor(fake, { tokenUrl: `http://127.0.0.1:${port}/token` }), push('device-token-ok'));
    expect(error.errorClass).toBe('transient');
  });

  it('reads the key from a service-account JSON file, and through application default credentials', async () => {
    const fake = await fakeFcm();
    const keyFile = path.join(tempDir, 'service-account.json');
    writeFileSync(
      keyFile,
      JSON.stringify({ type: 'service_account', project_id: PROJECT, private_key_id: 'k1', private_key: privateKeyPem, client_email: CLIENT_EMAIL, token_uri: fake.tokenUrl }),
    );
    expect((await senderFor(fake, { credentials: { type: 'key_file', path: keyFile } }).send(push('device-token-ok'))).vendorMessageId).not.toBeNull();

    const previous = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = keyFile;
    try {
      expect((await senderFor(fake, { credentials: { type: 'application_default' } }).send(push('device-token-ok'))).vendorMessageId).not.toBeNull();
    } finally {
      if (previous === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = previous;
    }
    expect(fake.issued).toHaveLength(2);
  });

  it('is built from FCM_SERVICE_ACCOUNT_JSON (project id included) and FCM_TOKEN_URL', async () => {
    const fake = await fakeFcm();
    const config = z.object(vendorEnv).parse({
      VENDOR_MODE: 'http',
      FCM_BASE_URL: fake.url,
      FCM_TOKEN_URL: fake.tokenUrl,
      FCM_TTL_SECONDS: '600',
      FCM_SERVICE_ACCOUNT_JSON: JSON.stringify({ type: 'service_account', project_id: PROJECT, private_key: privateKeyPem, client_email: CLIENT_EMAIL }),
    });
    const sender = await createVendorSender('PUSH', config);
    await sender.send(push('device-token-ok', { platform: 'ANDROID', kind: 'MARKETING' }));
    expect(JSON.parse(sends(fake)[0]!.body).message.android).toEqual({ priority: 'NORMAL', ttl: '600s' });
  });
});

describe('FCM HTTP v1 messages', () => {
  let fake: FakeFcm;
  let sender: FcmSender;
  beforeAll(async () => {
    fake = await fakeFcm({ retryAfterSeconds: 7 });
    sender = senderFor(fake);
  });
  const lastMessage = () => JSON.parse(sends(fake).at(-1)!.body).message;

  it('sends the payload as data with the attempt id, and the platform block of the device', async () => {
    const android = push('device-token-android', { platform: 'ANDROID', kind: 'SECURITY', payload: { deepLink: 'app://login', collapseKey: 'login' } });
    await sender.send(android);
    expect(lastMessage()).toEqual({
      token: 'device-token-android',
      notification: { title: 'Sign-in alert', body: 'Was this you?' },
      data: { deepLink: 'app://login', collapseKey: 'login', attemptId: android.attemptId },
      android: { priority: 'HIGH', ttl: '3600s', collapse_key: 'login' },
    });

    await sender.send(push('device-token-ios', { platform: 'IOS', kind: 'MARKETING' }));
    expect(lastMessage().apns.headers).toMatchObject({ 'apns-priority': '5', 'apns-push-type': 'alert' });

    await sender.send(push('device-token-web', { platform: 'WEB', kind: 'TRANSACTIONAL' }));
    expect(lastMessage().webpush).toEqual({ headers: { Urgency: 'high', TTL: '3600' } });
  });

  it('classifies throttling and unavailability as transient, carrying the Retry-After', async () => {
    for (const token of ['throttled-token', 'unavailable-token']) {
      const error = await failure(sender, push(token));
      expect(error.errorClass).toBe('transient');
      expect(error.retryAfterMs).toBe(7_000);
    }
  });

  it('classifies unregistered and malformed tokens as invalid recipients', async () => {
    expect((await failure(sender, push('unregistered-token'))).errorClass).toBe('invalid_recipient');
    expect((await failure(sender, push('malformed-token'))).errorClass).toBe('invalid_recipient');
  });

  it('classifies a sender-id mismatch and an APNs/web-push auth error as permanent', async () => {
    expect((await failure(sender, push('mismatch-token'))).errorClass).toBe('permanent');
    expect((await failure(sender, push('apns-auth-token'))).errorClass).toBe('permanent');
  });

  it('classifies a server error and a vendor that never answers as transient', async () => {
    const internal = await failure(sender, push('internal-token'));
    expect(internal.errorClass).toBe('transient');
    expect(internal.retryAfterMs).toBeUndefined();
    const hang = await failure(sender, push('hang-token'));
    expect(hang.errorClass).toBe('transient');
    expect(hang.detail).toBe(`fcm did not answer within ${TIMEOUT_MS} ms`);
  });

  it('takes an accepted message without a name as a success with no id, never as a failure to retry', async () => {
    expect(await sender.send(push('noid-device-token'))).toEqual({ vendorMessageId: null });
  });
});
