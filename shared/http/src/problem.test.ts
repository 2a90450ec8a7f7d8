import express from 'express';
import { pino } from 'pino';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from './errors.ts';
import { notFoundHandler, problemHandler } from './problem.ts';

function app() {
  const a = express();
  a.use(express.json({ limit: 100 }));
  a.get('/items/:id', (req, res) => void res.json({ id: req.params.id }));
  a.post('/validate', (req) => {
    z.object({ name: z.string() }).parse(req.body);
  });
  a.get('/conflict', () => {
    throw new AppError({ code: 'CONFLICT', status: 409, message: 'taken', headers: { 'Retry-After': '3' } });
  });
  a.get('/boom', () => {
    throw new Error('select * from secrets');
  });
  a.use(notFoundHandler);
  a.use(problemHandler(pino({ level: 'silent' })));
  return a;
}

describe('problemHandler', () => {
  it('answers a path with broken %-encoding with 400, not 500', async () => {
    const res = await request(app()).get('/items/%E0%A4%A');
    expect(res.status).toBe(400);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status: 400, code: 'BAD_REQUEST', path: '/items/%E0%A4%A' });
  });

  it('names every invalid field of a zod failure', async () => {
    const res = await request(app()).post('/validate').send({ name: 7 });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'name', message: expect.any(String) }]);
  });

  it('maps oversized and unparseable bodies to 413 and 400', async () => {
    expect((await request(app()).post('/validate').type('json').send(`{"name":"${'x'.repeat(200)}"}`)).body.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await request(app()).post('/validate').type('json').send('{nope')).status).toBe(400);
  });

  it('keeps AppError status, code and headers', async () => {
    const res = await request(app()).get('/conflict');
    expect(res.status).toBe(409);
    expect(res.headers['retry-after']).toBe('3');
    expect(res.body).toMatchObject({ code: 'CONFLICT', message: 'taken' });
  });

  it('answers anything else with a 500 that reveals no internals', async () => {
    const res = await request(app()).get('/boom');
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ code: 'INTERNAL_ERROR', message: 'internal error' });
    expect(JSON.stringify(res.body)).not.toContain('secrets');
  });

  it('answers an unknown route with a problem+json 404', async () => {
    const res = await request(app()).get('/nope');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');
  });
});
