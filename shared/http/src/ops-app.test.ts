import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { serviceApp } from './ops-app.ts';

describe('serviceApp', () => {
  const app = serviceApp();
  app.get('/echo', (req, res) => void res.json({ query: req.query, ip: req.ip }));

  it('answers without an ETag or X-Powered-By', async () => {
    const response = await request(app).get('/echo');
    expect(response.status).toBe(200);
    expect(response.headers.etag).toBeUndefined();
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('reads a[b]=c as a flat key and ignores a client-sent X-Forwarded-For', async () => {
    const response = await request(app).get('/echo?a[b]=c').set('X-Forwarded-For', '203.0.113.9');
    expect(response.body.query).toEqual({ 'a[b]': 'c' });
    expect(response.body.ip).not.toBe('203.0.113.9');
  });
});
