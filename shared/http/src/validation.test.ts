import express from 'express';
import { pino } from 'pino';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { serviceApp } from './ops-app.ts';
import { problemHandler } from './problem.ts';
import { MAX_FIELD_ERRORS, MAX_INPUT_DEPTH, UNSTORABLE_TEXT, duplicateKeyPath, parseInput, parseJsonBody, verifyJsonBody } from './validation.ts';

const query = z.object({ limit: z.coerce.number().int().min(1) }).strict();

function app() {
  const a = serviceApp();
  a.get('/items', (req, res) => void res.json(parseInput(query, req.query, 'query')));
  a.get('/escaped', (req) => {
    query.parse(req.query);
  });
  a.post('/json', express.json({ type: () => true, verify: verifyJsonBody }), (req, res) => void res.json(req.body));
  a.use(problemHandler(pino({ level: 'silent' })));
  return a;
}

/** The AppError a call throws (or undefined). */
function thrown(fn: () => unknown): { status: number; message: string; details?: { errors?: Array<{ field: string; message: string }> } } | undefined {
  try {
    fn();
  } catch (err) {
    return err as never;
  }
  return undefined;
}

const anything = z.unknown();
const text = z.object({ title: z.string() });

describe('parseInput', () => {
  it('returns the parsed value', () => {
    expect(parseInput(query, { limit: '5' }, 'query')).toEqual({ limit: 5 });
  });

  it('answers 400 invalid <part> naming each field as <part>.<path>', async () => {
    const res = await request(app()).get('/items?limit=0');
    expect(res.status).toBe(400);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toMatchObject({ code: 'BAD_REQUEST', message: 'invalid query' });
    expect(res.body.errors).toEqual([{ field: 'query.limit', message: expect.any(String) }]);
  });

  it('names the part alone for an unrecognized key', async () => {
    const res = await request(app()).get('/items?limit=1&colour=red');
    expect(res.body.errors).toEqual([{ field: 'query', message: 'Unrecognized key: "colour"' }]);
  });

  it('gives a ZodError that escaped it the same shape, without the part', async () => {
    const res = await request(app()).get('/escaped?limit=0');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'BAD_REQUEST', message: 'invalid request' });
    expect(res.body.errors).toEqual([{ field: 'limit', message: expect.any(String) }]);
  });
});

describe('parseInput: text Postgres cannot store', () => {
  it.each([
    ['U+0000', 'a\u0000b'],
    ['an unpaired high surrogate', 'a\ud800b'],
    ['an unpaired low surrogate', '\udc00'],
    ['a reversed pair', '\udc00\ud800'],
  ])('answers 400 naming the field for %s, whatever the schema accepts', (_name, value) => {
    const err = thrown(() => parseInput(text, { title: value }, 'body'));
    expect(err?.status).toBe(400);
    expect(err?.details?.errors).toEqual([{ field: 'body.title', message: UNSTORABLE_TEXT }]);
  });

  it('accepts paired surrogates (emoji) and every other character', () => {
    expect(parseInput(text, { title: 'ok 😀 \u0001 \ufffd \uffff' }, 'body')).toEqual({ title: 'ok 😀 \u0001 \ufffd \uffff' });
  });

  it('finds them in nested arrays and objects, in keys too, for every part', () => {
    const err = thrown(() => parseInput(anything, { channels: [{ address: 'x' }, { address: '\u0000' }], payload: { 'k\u0000': 'v' } }, 'body'));
    expect(err?.details?.errors).toEqual([
      { field: 'body.channels.1.address', message: UNSTORABLE_TEXT },
      { field: 'body.payload.k\ufffd', message: `key ${UNSTORABLE_TEXT}` },
    ]);
    expect(thrown(() => parseInput(anything, { id: 'a\u0000' }, 'params'))?.details?.errors?.[0]?.field).toBe('params.id');
    expect(thrown(() => parseInput(anything, { recipientId: '\ud83d' }, 'query'))?.details?.errors?.[0]?.field).toBe('query.recipientId');
    expect(thrown(() => parseInput(anything, '\u0000', 'headers'))?.details?.errors?.[0]?.field).toBe('headers');
  });

  it('answers 400 for input nested deeper than MAX_INPUT_DEPTH, without recursion', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const err = thrown(() => parseInput(anything, { deep }, 'body'));
    expect(err?.status).toBe(400);
    expect(err?.details?.errors).toEqual([{ field: `body.deep${'.0'.repeat(MAX_INPUT_DEPTH - 1)}`, message: `nests deeper than ${MAX_INPUT_DEPTH} levels` }]);
    let ok: unknown = 'leaf';
    for (let i = 0; i < MAX_INPUT_DEPTH - 1; i++) ok = [ok];
    expect(parseInput(anything, { ok }, 'body')).toEqual({ ok });
  });

  it(`lists at most ${MAX_FIELD_ERRORS} fields and says how many there were`, () => {
    const many = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, 1]));
    const err = thrown(() => parseInput(z.record(z.string(), z.string()), many, 'body'));
    expect(err?.details?.errors).toHaveLength(MAX_FIELD_ERRORS);
    expect(err?.message).toBe(`invalid body (first ${MAX_FIELD_ERRORS} of 20000 errors)`);
  });
});

describe('JSON bodies: UTF-8 and duplicate keys', () => {
  it.each([
    ['{"a":1,"a":2}', ['a']],
    ['{"a":{"b":1,"c":{"d":1},"b":2}}', ['a', 'b']],
    ['[{"x":1},{"y":1,"y":1}]', ['1', 'y']],
    ['{"a":[1,{"k":1}],"b":{"k":1,"\\u006b":2}}', ['b', 'k']],
    ['{"a\\"":1,"a\\"":2}', ['a"']],
  ])('finds the duplicate key of %s', (json, path) => {
    expect(duplicateKeyPath(json)).toEqual(path);
  });

  it.each(['{"a":1,"b":{"a":1}}', '[{"a":1},{"a":1}]', '{"a":"{\\"a\\":1,\\"a\\":2}"}', '{"a":', '"a"', '{"a":1,"a'])('finds none in %s', (json) => {
    expect(duplicateKeyPath(json)).toBeUndefined();
  });

  it('parses a raw body, answering 400 for invalid UTF-8, duplicate keys and invalid JSON', () => {
    expect(parseJsonBody(Buffer.from('{"a":"é"}'))).toEqual({ a: 'é' });
    expect(thrown(() => parseJsonBody(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x22, 0x7d])))?.details?.errors).toEqual([{ field: 'body', message: 'is not valid UTF-8' }]);
    expect(thrown(() => parseJsonBody(Buffer.from('{"a":"\xed\xa0\x80"}', 'latin1')))?.message).toBe('request body is not valid UTF-8');
    expect(thrown(() => parseJsonBody(Buffer.from('{"p":{"k":1,"k":2}}')))?.details?.errors).toEqual([{ field: 'body.p.k', message: 'duplicate key' }]);
    expect(thrown(() => parseJsonBody(Buffer.from('{"a":')))?.message).toBe('request body is not valid JSON');
  });

  it('gives express.json the same checks through verifyJsonBody: problem+json 400, not 403', async () => {
    // superagent would JSON-encode a Buffer sent as json; the route parses any type as JSON.
    const invalidUtf8 = await request(app()).post('/json').type('application/octet-stream').send(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]));
    expect(invalidUtf8.status).toBe(400);
    expect(invalidUtf8.type).toBe('application/problem+json');
    expect(invalidUtf8.body.errors).toEqual([{ field: 'body', message: 'is not valid UTF-8' }]);
    const duplicate = await request(app()).post('/json').type('json').send('{"kind":"A","kind":"B"}');
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.errors).toEqual([{ field: 'body.kind', message: 'duplicate key' }]);
    expect((await request(app()).post('/json').type('json').send('{"kind":"A"}')).body).toEqual({ kind: 'A' });
  });
});
