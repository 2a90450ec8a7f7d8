// Issue 15, end to end through the real pieces: an EMAIL template with an HTML body is created
// and sent through ingest, the email dispatcher's own delivery handler sends the attempt through
// the SMTP adapter to a local SMTP server, the received MIME is parsed, and the MARKETING mail's
// List-Unsubscribe link opts the recipient out through the ingest endpoint.
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatchMetrics, DeliveryStore, handleDelivery, ProtectedVendor } from '@hub/dispatching';
import { createMetricsRegistry } from '@hub/observability';
import { createTestContext, type TestContext } from '@hub/testing';
import { SmtpSender } from '@hub/vendors/smtp';
import { ingestApp, rowCounts, startJwks, testClock } from './harness.ts';

const NOON_SEOUL = new Date('2026-03-10T03:00:00Z');
const SECRET = 'unsubscribe-signing-secret-for-tests-0123';
const PUBLIC_BASE_URL = 'https://hub.example.com';

let ctx: TestContext;
let app: ReturnType<typeof ingestApp>['app'];
const clock = testClock(NOON_SEOUL);
let seq = 0;
const uniq = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;
const received: string[] = [];
const closers: (() => Promise<void>)[] = [];
let sender: SmtpSender;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  ({ app } = ingestApp(ctx, {
    clock: clock.now,
    env: { RATE_LIMIT_EMAIL: '1000', RATE_LIMIT_SMS: '1000', UNSUBSCRIBE_SIGNING_SECRET: SECRET, UNSUBSCRIBE_LINK_MAX_AGE_DAYS: '30' },
  }));
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => smtp.close(() => resolve())));
  sender = new SmtpSender({
    url: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
    from: 'hub@example.com',
    unsubscribe: { publicBaseUrl: PUBLIC_BASE_URL, signingSecret: SECRET, clock: clock.now },
    timeoutMs: 2_000,
  });
  closers.push(() => sender.close());
});
afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
  await ctx?.close();
});

async function recipient(channels: { type: string; address: string }[]) {
  const id = uniq('user');
  await request(app).put(`/api/v1/recipients/${id}`).send({ channels }).expect(201);
  return id;
}

const send = (body: Record<string, unknown>) => request(app).post('/api/v1/notifications').set('Idempotency-Key', uniq('key')).send(body);

const attemptsOf = (notificationId: string) =>
  ctx.database.db.selectFrom('delivery_attempts').selectAll().where('notification_id', '=', notificationId).orderBy('id').execute();

/** What dispatcher-email does with the attempt's delivery.requested message. */
async function dispatch(notificationId: string): Promise<string> {
  const [attempt] = await attemptsOf(notificationId);
  const before = received.length;
  await handleDelivery(
    {
      store: new DeliveryStore({ db: ctx.database.db, topics: ctx.topics, clock: () => new Date(), logger: ctx.logger, leaseMs: 20_000, backoff: { baseMs: 2_000, maxMs: 600_000 } }),
      vendor: new ProtectedVendor(sender, { attempts: 1, timeoutMs: 5_000, breaker: { errorThresholdPercentage: 50, volumeThreshold: 1_000, resetTimeoutMs: 30_000 } }),
      logger: ctx.logger,
      metrics: createDispatchMetrics(createMetricsRegistry('email-e2e')),
      stopping: () => false,
    },
    {
      eventId: crypto.randomUUID(),
      occurredAt: new Date().toISOString(),
      schemaVersion: 1,
      type: 'delivery.requested',
      attemptId: attempt!.id,
      notificationId,
      channel: 'EMAIL',
      priority: false,
      retryCount: 0,
    },
  );
  const after = await attemptsOf(notificationId);
  expect(after[0]!.status).toBe('SUCCEEDED');
  expect(received.length).toBe(before + 1);
  return received.at(-1)!;
}

async function emailTemplate(htmlBody?: string) {
  const key = `shop.news_${++seq}.v1`;
  await request(app)
    .post('/api/v1/templates')
    .send({ key, locale: 'ko-kr', channelType: 'EMAIL', titleTemplate: 'News for {name}', bodyTemplate: 'Hello {name}, see {link}', ...(htmlBody ? { htmlBody } : {}) })
    .expect(201);
  return key;
}

const marketingOf = async (recipientId: string) =>
  (await request(app).get(`/api/v1/users/${recipientId}/preferences`).expect(200)).body.kinds.MARKETING as { allowed: boolean };

describe('an EMAIL template with an HTML body, sent over SMTP', () => {
  it('arrives as "Kim & Lee" in the subject and text part and "Kim &amp; Lee" in the HTML source', async () => {
    const key = await emailTemplate('<p>Hello <b>{name}</b>, see <a href="{link}">this</a></p>');
    const id = await recipient([{ type: 'EMAIL', address: 'kim@example.com' }]);
    const res = await send({ recipientId: id, kind: 'TRANSACTIONAL', templateKey: key, payload: { name: 'Kim & Lee', link: 'https://shop.example.com/?a=1&b=2' } });
    expect(res.status).toBe(202);
    const [attempt] = await attemptsOf(res.body.notificationId);
    expect(attempt).toMatchObject({
      rendered_title: 'News for Kim & Lee',
      rendered_body: 'Hello Kim & Lee, see https://shop.example.com/?a=1&b=2',
      rendered_html_body: '<p>Hello <b>Kim &amp; Lee</b>, see <a href="https://shop.example.com/?a=1&amp;b=2">this</a></p>',
    });

    const raw = await dispatch(res.body.notificationId);
    expect(raw).toMatch(/^Content-Type: multipart\/alternative;/m);
    const mail = await simpleParser(raw);
    expect(mail.subject).toBe('News for Kim & Lee');
    expect(mail.text?.trim()).toBe('Hello Kim & Lee, see https://shop.example.com/?a=1&b=2');
    expect(mail.html).toBe('<p>Hello <b>Kim &amp; Lee</b>, see <a href="https://shop.example.com/?a=1&amp;b=2">this</a></p>');
    // Not MARKETING: no unsubscribe header.
    expect(mail.headerLines.some((h) => h.key.startsWith('list-unsubscribe'))).toBe(false);
  });

  it('sends a text part only for an email without a template', async () => {
    const id = await recipient([{ type: 'EMAIL', address: 'plain@example.com' }]);
    const res = await send({ recipientId: id, kind: 'SECURITY', title: 'Kim & Lee', body: 'Sign-in by Kim & Lee' });
    expect(res.status).toBe(202);
    expect((await attemptsOf(res.body.notificationId))[0]!.rendered_html_body).toBeNull();
    const raw = await dispatch(res.body.notificationId);
    expect(raw).not.toMatch(/multipart|text\/html/);
    expect((await simpleParser(raw)).text?.trim()).toBe('Sign-in by Kim & Lee');
  });
});

describe('one-click unsubscribe of MARKETING mail', () => {
  /** Sends a MARKETING mail to a new recipient and returns the path of its List-Unsubscribe link. */
  async function marketingMail() {
    const key = await emailTemplate('<p>Hello {name}</p>');
    const id = await recipient([{ type: 'EMAIL', address: `${uniq('m')}@example.com` }]);
    const res = await send({ recipientId: id, kind: 'MARKETING', templateKey: key, payload: { name: 'Kim & Lee', link: 'https://shop.example.com' } });
    expect(res.status).toBe(202);
    const mail = await simpleParser(await dispatch(res.body.notificationId));
    // The header lines as sent (mailparser folds List-* headers into its own `list` structure).
    const line = (name: string) => mail.headerLines.find((h) => h.key === name)?.line.replace(/\r?\n[ \t]+/g, ' ');
    expect(line('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    const header = line('list-unsubscribe')!;
    const url = /<(https:\/\/[^>]+)>/.exec(header)![1]!;
    expect(url.startsWith(`${PUBLIC_BASE_URL}/api/v1/unsubscribe/`)).toBe(true);
    return { id, path: new URL(url).pathname };
  }

  it('opts the recipient out through the link in the mail, audited, and the next MARKETING notification is suppressed', async () => {
    const { id, path } = await marketingMail();
    // A mail scanner's prefetch: a page with a form, and nothing changes.
    const page = await request(app).get(path).expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('<form method="post">');
    expect((await marketingOf(id)).allowed).toBe(true);

    const res = await request(app).post(path).type('form').send('List-Unsubscribe=One-Click');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ kind: 'MARKETING', allowed: false, changed: true });
    expect((await marketingOf(id)).allowed).toBe(false);
    const audit = await ctx.database.db.selectFrom('audit_events').selectAll().where('action', '=', 'RECIPIENT_UNSUBSCRIBED').where('target_id', '=', id).execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'unsubscribe-link', target_type: 'recipient', details: { kind: 'MARKETING', via: 'one-click' } });

    // Mail clients may post twice: the same answer, nothing more written.
    expect((await request(app).post(path).type('form').send('List-Unsubscribe=One-Click').expect(200)).body.changed).toBe(false);
    const next = await send({ recipientId: id, kind: 'MARKETING', title: 'Sale', body: 'Everything must go' });
    expect(next.body).toMatchObject({ status: 'SUPPRESSED', suppressionReason: 'OPT_OUT' });
    // Mandatory kinds still reach the recipient.
    expect((await send({ recipientId: id, kind: 'SECURITY', title: 'Sign-in', body: 'Was this you?' })).body.status).toBe('FANNED_OUT');
  });

  it('takes the one-click field in a multipart/form-data body too, and answers a browser form with a page', async () => {
    const { id, path } = await marketingMail();
    const res = await request(app).post(path).set('Accept', 'text/html').field('List-Unsubscribe', 'One-Click');
    expect(res.status).toBe(200);
    expect(res.text).toContain('You are unsubscribed');
    expect((await marketingOf(id)).allowed).toBe(false);
  });

  it('refuses forged, malformed and expired links and a POST without the one-click body, changing nothing', async () => {
    const { id, path } = await marketingMail();
    const token = path.split('/').at(-1)!;
    const [payload, signature] = token.split('.') as [string, string];
    const other = Buffer.from(JSON.stringify({ r: 'someone-else', k: 'MARKETING', d: '2026-03-10' })).toString('base64url');
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    const before = await rowCounts(ctx);

    for (const forged of [`${other}.${signature}`, `${payload}.${flipped}`]) {
      for (const method of ['get', 'post'] as const) {
        const res = await request(app)[method](`/api/v1/unsubscribe/${forged}`).type('form').send('List-Unsubscribe=One-Click');
        expect(res.status, `${method} ${forged}`).toBe(401);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body.code).toBe('INVALID_UNSUBSCRIBE_LINK');
      }
    }
    const malformed = await request(app).post('/api/v1/unsubscribe/not-a-token').type('form').send('List-Unsubscribe=One-Click');
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors).toEqual([expect.objectContaining({ field: 'params.token' })]);
    const noBody = await request(app).post(path).type('form').send('unsubscribe=yes');
    expect(noBody.status).toBe(400);
    expect(noBody.body.errors).toEqual([expect.objectContaining({ field: 'body' })]);
    const huge = await request(app).post(path).type('form').send(`List-Unsubscribe=One-Click&pad=${'x'.repeat(10_000)}`);
    expect(huge.status).toBe(413);
    expect(huge.headers['content-type']).toMatch(/^application\/problem\+json/);

    // Thirty days after the day of issue the link still works; the day after, it has expired.
    const later = testClock(new Date(NOON_SEOUL.getTime() + 31 * 86_400_000));
    const { app: laterApp } = ingestApp(ctx, { clock: later.now, env: { UNSUBSCRIBE_SIGNING_SECRET: SECRET, UNSUBSCRIBE_LINK_MAX_AGE_DAYS: '30' } });
    const expired = await request(laterApp).post(path).type('form').send('List-Unsubscribe=One-Click');
    expect(expired.status).toBe(401);
    expect(expired.body.code).toBe('UNSUBSCRIBE_LINK_EXPIRED');

    // A hub without the signing secret checks no link at all.
    const { app: unconfigured } = ingestApp(ctx, { clock: clock.now });
    expect((await request(unconfigured).post(path).type('form').send('List-Unsubscribe=One-Click')).body.code).toBe('UNSUBSCRIBE_DISABLED');

    expect(await rowCounts(ctx)).toEqual(before);
    expect((await marketingOf(id)).allowed).toBe(true);
  });

  it('needs no caller token when caller authentication is on: the link is its own proof', async () => {
    const { id, path } = await marketingMail();
    const jwks = await startJwks();
    closers.push(jwks.close);
    const { app: guarded } = ingestApp(ctx, { clock: clock.now, env: { ...jwks.env, UNSUBSCRIBE_SIGNING_SECRET: SECRET } });
    expect((await request(guarded).get(`/api/v1/users/${id}/preferences`)).status).toBe(401);
    expect((await request(guarded).post(path).type('form').send('List-Unsubscribe=One-Click')).status).toBe(200);
    expect((await marketingOf(id)).allowed).toBe(false);
  });
});

describe('what the template and send APIs refuse', () => {
  it('takes an HTML body for EMAIL templates only, within its size limit, writing nothing otherwise', async () => {
    const before = await rowCounts(ctx);
    const sms = await request(app)
      .post('/api/v1/templates')
      .send({ key: `auth.code_${++seq}.v1`, locale: 'ko-kr', channelType: 'SMS', titleTemplate: 'Code', bodyTemplate: 'Code {code}', htmlBody: '<p>{code}</p>' });
    expect(sms.status).toBe(400);
    expect(sms.body.errors).toEqual([expect.objectContaining({ field: 'body.htmlBody' })]);
    const huge = await request(app)
      .post('/api/v1/templates')
      .send({ key: `shop.big_${++seq}.v1`, locale: 'ko-kr', channelType: 'EMAIL', titleTemplate: 'Big', bodyTemplate: 'Big', htmlBody: 'x'.repeat(100_001) });
    expect(huge.status).toBe(400);
    expect(huge.body.errors).toEqual([expect.objectContaining({ field: 'body.htmlBody' })]);
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it('returns the HTML body with the template', async () => {
    const key = `shop.show_${++seq}.v1`;
    const created = await request(app)
      .post('/api/v1/templates')
      .send({ key, locale: 'ko-kr', channelType: 'EMAIL', titleTemplate: 'T', bodyTemplate: 'B', htmlBody: '<p>B</p>' })
      .expect(201);
    expect(created.body.htmlBody).toBe('<p>B</p>');
    expect((await request(app).get('/api/v1/templates').query({ key }).expect(200)).body.items[0].htmlBody).toBe('<p>B</p>');
  });

  it('counts placeholders of the HTML body as required variables', async () => {
    const key = await emailTemplate('<p>{name}, your code is {code}</p>');
    const id = await recipient([{ type: 'EMAIL', address: 'vars@example.com' }]);
    const before = await rowCounts(ctx);
    const res = await send({ recipientId: id, kind: 'TRANSACTIONAL', templateKey: key, payload: { name: 'Kim', link: 'x' } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'payload.code', message: 'required by the template' }]);
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it('refuses an SMS body over 1,600 characters, whether written or rendered, naming the field', async () => {
    const id = await recipient([{ type: 'SMS', address: '+821055550000' }]);
    const key = `auth.long_${++seq}.v1`;
    await request(app).post('/api/v1/templates').send({ key, locale: 'ko-kr', channelType: 'SMS', titleTemplate: 'Long', bodyTemplate: 'Note: {text}' }).expect(201);
    const before = await rowCounts(ctx);
    const written = await send({ recipientId: id, kind: 'TRANSACTIONAL', title: 'Long', body: 'x'.repeat(1_601) });
    expect(written.status).toBe(400);
    expect(written.body.errors).toEqual([expect.objectContaining({ field: 'body.body' })]);
    const rendered = await send({ recipientId: id, kind: 'TRANSACTIONAL', templateKey: key, payload: { text: 'x'.repeat(1_595) } });
    expect(rendered.status).toBe(400);
    expect(rendered.body.errors).toEqual([expect.objectContaining({ field: 'body.payload' })]);
    expect(await rowCounts(ctx)).toEqual(before);
    // 1,600 exactly is an SMS: 11 GSM-7 parts of 153.
    const fits = await send({ recipientId: id, kind: 'TRANSACTIONAL', title: 'Long', body: 'x'.repeat(1_600) });
    expect(fits.status).toBe(202);
    expect((await attemptsOf(fits.body.notificationId))[0]!.sms_segments).toBe(11);
  });
});
