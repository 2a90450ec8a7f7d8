import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openApiDocument, openApiRoutes, schemaObject } from './openapi.ts';

const body = z.object({ name: z.string().min(1), size: z.number().int().default(1) });

describe('schemaObject', () => {
  it('turns a zod schema into a JSON Schema without the $schema dialect marker', () => {
    const schema = schemaObject(body);
    expect(schema.$schema).toBeUndefined();
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(['name']);
  });

  it('describes output shapes with defaulted fields as required', () => {
    expect(schemaObject(body, 'output').required).toEqual(['name', 'size']);
  });
});

describe('openApiDocument', () => {
  const document = openApiDocument({
    title: 'Test',
    version: '1.0.0',
    basePath: '/api/v1',
    routes: [
      {
        method: 'put',
        path: '/things/:id',
        summary: 'put a thing',
        params: z.object({ id: z.string() }),
        query: z.object({ dryRun: z.string().optional() }),
        headers: z.object({ 'Idempotency-Key': z.string() }),
        body,
        responses: { 200: { description: 'ok', schema: body }, 400: { description: 'bad' } },
      },
    ],
  });
  const operation = (document.paths as Record<string, Record<string, Record<string, unknown>>>)['/api/v1/things/{id}']!.put!;

  it('is OpenAPI 3.1 with express paths converted to templated paths', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(operation.summary).toBe('put a thing');
  });

  it('lists path, query and header parameters with their required flags', () => {
    expect(operation.parameters).toEqual([
      expect.objectContaining({ name: 'id', in: 'path', required: true }),
      expect.objectContaining({ name: 'dryRun', in: 'query', required: false }),
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true }),
    ]);
  });

  it('points error responses without a schema at the shared Problem schema', () => {
    const responses = operation.responses as Record<string, { content: Record<string, { schema: unknown }> }>;
    expect(responses['400']!.content['application/problem+json']!.schema).toEqual({ $ref: '#/components/schemas/Problem' });
    expect(responses['200']!.content['application/json']!.schema).toMatchObject({ type: 'object' });
  });
});

describe('openApiRoutes', () => {
  const app = express().use('/api/v1', openApiRoutes({ document: () => ({ openapi: '3.1.0', paths: {} }) }));

  it('serves the document at /openapi.json', async () => {
    const res = await request(app).get('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ openapi: '3.1.0', paths: {} });
  });

  it('serves a docs page whose assets come from the local swagger-ui-dist package', async () => {
    const page = await request(app).get('/api/v1/docs');
    expect(page.status).toBe(200);
    expect(page.text).toContain('docs/assets/swagger-ui-bundle.js');
    expect(page.text).not.toMatch(/https?:\/\//);
    const bundle = await request(app).get('/api/v1/docs/assets/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers['content-type']).toContain('javascript');
    const init = await request(app).get('/api/v1/docs/assets/init.js');
    expect(init.text).toContain('openapi.json');
  });

  it('redirects /docs/ to /docs so relative asset URLs resolve', async () => {
    const res = await request(app).get('/api/v1/docs/');
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('/api/v1/docs');
  });

  it('does not serve arbitrary files from the swagger-ui-dist directory', async () => {
    const res = await request(app).get('/api/v1/docs/assets/package.json');
    expect(res.status).toBe(404);
  });
});
