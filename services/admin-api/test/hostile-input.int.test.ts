import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, ERROR_CLASSES } from '@hub/domain';
import { listen, type RunningServer } from '@hub/http';
import { createTestContext, type TestContext } from '@hub/testing';
// Shared with ingest-api's suite (not yet exported from @hub/testing's index).
import { CaseCounter, RawHttpClient, hostileRequests, misspelled, rawRequest, sendHostile, tableCounts, type Endpoint, type FieldKind, type ServiceBodyRules } from '@hub/testing';
import { createApp } from '../src/app.ts';
import { bulkBodySchema, bulkDiscardBodySchema, discardBodySchema, listQuerySchema, searchQuerySchema, statsQuerySchema } from '../src/routes/schemas.ts';
import { adminDeps, seedAttempts, TOKEN } from './harness.ts';

// Every /api/v1/admin/dlq route against generated requests that are valid in shape and hostile
// in content (shared/testing/src/hostile-http.ts): never a 5xx, always the expected 4xx as
// problem+json, a 400 names the field at fault, no table gains a row. Each starts from a request
// the API would carry out (a replay of a real DLQ entry, a bulk dry run, which is audited), so a
// hostility it failed to notice shows as a 2xx or a new row.

/** Generated requests per route (10 routes). */
const RUNS = Number(process.env.HOSTILE_RUNS ?? 3_500);

let ctx: TestContext;
let server: RunningServer;
let client: RawHttpClient;
let deps: ReturnType<typeof adminDeps>;
let exhausted: string;
const counter = new CaseCounter();
const UNKNOWN = '0190f5a0-0000-7000-8000-000000000001';
// Paths /dlq/{id} would take for another route.
const RESERVED = ['search', 'stats'];

// express.json({ limit: '16kb' }) parses application/json only: another Content-Type leaves
// the body unread, and the route goes on as if it had none (see each endpoint).
// Every body is read as JSON whatever its Content-Type (as in ingest-api): the hostile field decides.
const rules: ServiceBodyRules = { bodyLimitBytes: 16_384, wrongContentType: 'parsed' };

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
  deps = adminDeps(ctx);
  server = await listen(createApp(deps), 0, '127.0.0.1');
  client = new RawHttpClient(server.port);
  // A real DLQ entry: a hostile replay or discard that got through would change it.
  exhausted = (await seedAttempts(ctx.database.db, { count: 1, channel: 'EMAIL' }))[0]!;
});

afterAll(async () => {
  client?.close();
  await server?.close();
  deps?.close();
  await ctx?.close();
  // console.log: vitest prints it for passing tests too, so `npm test` shows the numbers.
  if (counter.total > 0) console.log(counter.summary('hostile input, admin-api'));
});

/** RUNS generated requests against one route; no table may gain a row. */
async function hostile(label: string, endpoint: Endpoint) {
  const before = await tableCounts(ctx.database.sql);
  await sendHostile({ client, arbitrary: hostileRequests({ headers: () => ({ 'X-Admin-Token': TOKEN }), hostileHeaders: badToken, ...endpoint }, rules), runs: RUNS, counter, label });
  expect(await tableCounts(ctx.database.sql)).toEqual(before);
}

/** Every route checks the token (after the rate limit): a bad one is a 401 whatever else is wrong. */
const badToken = fc
  .oneof(fc.constantFrom('', 'a'.repeat(10_000), TOKEN.toUpperCase(), `${TOKEN}x`, TOKEN.slice(1)), misspelled([TOKEN]), fc.string({ maxLength: 40 }))
  .filter((t) => t.trim() !== TOKEN)
  .map((token) => ({ headers: { 'X-Admin-Token': token }, status: [401] }));

const ISO_FROM = '2026-11-24T00:00:00Z';
const ISO_TO = '2026-11-25T00:00:00Z';
const filterFields: Array<{ path: Array<string | number>; kind: FieldKind }> = [
  { path: ['channel'], kind: { type: 'enum', values: CHANNELS } },
  { path: ['topic'], kind: { type: 'text' } },
  { path: ['from'], kind: { type: 'strict' } },
  { path: ['to'], kind: { type: 'strict' } },
  { path: ['errorType'], kind: { type: 'enum', values: ERROR_CLASSES } },
  { path: ['confirm'], kind: { type: 'bool' } },
  { path: ['reason'], kind: { type: 'text' } },
];
const validFilter = { channel: 'EMAIL', topic: 'notification.delivery.email', from: ISO_FROM, to: ISO_TO, errorType: 'permanent', confirm: false, reason: 'hostile' };

describe('hostile input never causes a 5xx or a write (admin-api)', () => {
  it('GET /dlq', () =>
    hostile('GET /dlq', { method: 'GET', path: () => '/api/v1/admin/dlq', query: { valid: { cursor: UNKNOWN, limit: '50' }, schema: listQuerySchema, fields: { cursor: 'strict', limit: 'strict' } } }));

  it('GET /dlq/search', () =>
    hostile('GET /dlq/search', {
      method: 'GET',
      path: () => '/api/v1/admin/dlq/search',
      query: {
        valid: { channel: 'EMAIL', topic: 'notification.delivery.email', from: ISO_FROM, to: ISO_TO, errorType: 'permanent', cursor: UNKNOWN, size: '50' },
        schema: searchQuerySchema,
        fields: { channel: CHANNELS, topic: 'text', from: 'strict', to: 'strict', errorType: ERROR_CLASSES, cursor: 'strict', size: 'strict' },
      },
    }));

  it('GET /dlq/stats', () =>
    hostile('GET /dlq/stats', {
      method: 'GET',
      path: () => '/api/v1/admin/dlq/stats',
      query: { valid: { from: ISO_FROM, to: ISO_TO, bucket: 'PT1H' }, schema: statsQuerySchema, fields: { from: 'strict', to: 'strict', bucket: 'strict' } },
    }));

  it('POST /dlq/bulk-replay', () =>
    hostile('POST /dlq/bulk-replay', {
      method: 'POST',
      path: () => '/api/v1/admin/dlq/bulk-replay',
      body: { valid: validFilter, schema: bulkBodySchema, fields: filterFields },
    }));

  it('POST /dlq/bulk-discard', () =>
    hostile('POST /dlq/bulk-discard', {
      method: 'POST',
      path: () => '/api/v1/admin/dlq/bulk-discard',
      body: { valid: validFilter, schema: bulkDiscardBodySchema, fields: filterFields },
    }));

  it('GET /dlq/bulk-jobs/{jobId}', () =>
    hostile('GET /dlq/bulk-jobs/{jobId}', { method: 'GET', path: (id) => `/api/v1/admin/dlq/bulk-jobs/${id}`, param: { valid: UNKNOWN, field: 'params.jobId', kind: 'uuid' } }));

  it('GET /dlq/{attemptId}', () =>
    hostile('GET /dlq/{attemptId}', { method: 'GET', path: (id) => `/api/v1/admin/dlq/${id}`, param: { valid: exhausted, field: 'params.attemptId', kind: 'uuid', reserved: RESERVED } }));

  it.each(['replay', 'discard'])('POST /dlq/{attemptId}/%s', (action) =>
    hostile(`POST /dlq/{attemptId}/${action}`, {
      method: 'POST',
      path: (id) => `/api/v1/admin/dlq/${id}/${action}`,
      param: { valid: exhausted, field: 'params.attemptId', kind: 'uuid', reserved: RESERVED },
      body: { valid: { reason: 'hostile' }, schema: discardBodySchema, fields: [{ path: ['reason'], kind: { type: 'text' } }] },
    }));

  it('DELETE /dlq/{attemptId}', () =>
    hostile('DELETE /dlq/{attemptId}', {
      method: 'DELETE',
      path: (id) => `/api/v1/admin/dlq/${id}`,
      param: { valid: exhausted, field: 'params.attemptId', kind: 'uuid', reserved: RESERVED },
      // Always refused (405), whatever the id; an id the router cannot decode is a 400 first.
      statuses: [400, 405],
    }));
});

describe('text Postgres cannot store is a 400 naming the field, never a 500 (admin-api)', () => {
  const json = { 'Content-Type': 'application/json', 'X-Admin-Token': TOKEN };
  it.each<[string, () => { method: string; path: string; body?: string }, string]>([
    ['a NUL in a replay reason', () => ({ method: 'POST', path: `/api/v1/admin/dlq/${exhausted}/replay`, body: '{"reason":"a\\u0000b"}' }), 'body.reason'],
    ['a lone surrogate in a discard reason', () => ({ method: 'POST', path: `/api/v1/admin/dlq/${exhausted}/discard`, body: '{"reason":"\\ud800"}' }), 'body.reason'],
    ['a NUL in a bulk-replay topic', () => ({ method: 'POST', path: '/api/v1/admin/dlq/bulk-replay', body: '{"topic":"t\\u0000"}' }), 'body.topic'],
    ['a NUL in a bulk-discard reason', () => ({ method: 'POST', path: '/api/v1/admin/dlq/bulk-discard', body: '{"reason":"\\u0000"}' }), 'body.reason'],
    ['a %00 in a search topic', () => ({ method: 'GET', path: '/api/v1/admin/dlq/search?topic=a%00b' }), 'query.topic'],
  ])('%s', async (_name, make, field) => {
    const before = await tableCounts(ctx.database.sql);
    const res = await client.send(rawRequest({ ...make(), headers: json }));
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const problem = JSON.parse(res.body.toString()) as { errors: Array<{ field: string }> };
    expect(problem.errors.map((e) => e.field)).toContain(field);
    expect(await tableCounts(ctx.database.sql)).toEqual(before);
  });
});
