import express from 'express';
import { pino } from 'pino';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { problemHandler } from './problem.ts';
import { parseInput } from './validation.ts';

const query = z.object({ limit: z.coerce.number().int().min(1) }).strict();

function app() {
  const a = express();
  a.set('query parser', 'simple');
  a.get('/items', (req, res) => void res.json(parseInput(query, req.query, 'query')));
  a.get('/escaped', (req) => {
    query.parse(req.query);
  });
  a.use(problemHandler(pino({ level: 'silent' })));
  return a;
}

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
