import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Router } from 'express';
import { z } from 'zod';

/** A JSON Schema (2020-12, the dialect OpenAPI 3.1 uses) as a plain object. */
export type JsonSchema = Record<string, unknown>;

/**
 * The JSON Schema of a zod schema, for an OpenAPI 3.1 document. `io: 'input'` (default)
 * describes what a client sends (fields with defaults are optional); `'output'` what a server
 * answers. Types JSON cannot express (dates, transforms) become `{}` instead of throwing.
 */
export function schemaObject(schema: z.ZodType, io: 'input' | 'output' = 'input'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

export interface OpenApiResponse {
  description: string;
  /** Response body; omitted for empty responses. */
  schema?: z.ZodType;
  /** Media type of the body (default `application/json`). */
  contentType?: string;
}

export interface OpenApiRoute {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express-style path (`/recipients/:id`); converted to `/recipients/{id}`. */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  /** A z.object of path parameters. */
  params?: z.ZodObject;
  /** A z.object of query parameters. */
  query?: z.ZodObject;
  /** A z.object of request headers (names as sent, e.g. `Idempotency-Key`). */
  headers?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<number, OpenApiResponse>;
  /** Names of security schemes in the document's components that protect this route. */
  security?: string[];
}

export interface OpenApiDocumentOptions {
  title: string;
  version: string;
  description?: string;
  /** Prefix for every route path, e.g. `/api/v1`. */
  basePath?: string;
  routes: OpenApiRoute[];
  securitySchemes?: Record<string, Record<string, unknown>>;
}

/**
 * The RFC 9457 problem body every non-2xx answer has (SPEC §3); referenced by routes as
 * `#/components/schemas/Problem`.
 */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().describe('stable machine-readable error code'),
    message: z.string(),
    path: z.string(),
    timestamp: z.string(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .loose();

function parameters(location: 'path' | 'query' | 'header', schema: z.ZodObject | undefined): unknown[] {
  if (!schema) return [];
  const json = schemaObject(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property,
  }));
}

/** Builds an OpenAPI 3.1 document whose schemas come from the same zod schemas the routes validate with. */
export function openApiDocument(options: OpenApiDocumentOptions): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of options.routes) {
    const path = `${options.basePath ?? ''}${route.path}`.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      const contentType = response.contentType ?? (Number(status) >= 400 ? 'application/problem+json' : 'application/json');
      responses[status] = {
        description: response.description,
        ...(response.schema
          ? { content: { [contentType]: { schema: schemaObject(response.schema, 'output') } } }
          : Number(status) >= 400
            ? { content: { [contentType]: { schema: { $ref: '#/components/schemas/Problem' } } } }
            : {}),
      };
    }
    const operation = {
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      ...(route.tags ? { tags: route.tags } : {}),
      parameters: [
        ...parameters('path', route.params),
        ...parameters('query', route.query),
        ...parameters('header', route.headers),
      ],
      ...(route.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: schemaObject(route.body) } } } }
        : {}),
      responses,
      ...(route.security ? { security: route.security.map((name) => ({ [name]: [] })) } : {}),
    };
    paths[path] = { ...paths[path], [route.method]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: options.title,
      version: options.version,
      ...(options.description ? { description: options.description } : {}),
    },
    paths,
    components: {
      schemas: { Problem: schemaObject(problemSchema, 'output') },
      ...(options.securitySchemes ? { securitySchemes: options.securitySchemes } : {}),
    },
  };
}

/** The directory swagger-ui-dist installs its browser assets into (served locally, no CDN). */
function swaggerUiDir(): string {
  return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

const SWAGGER_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>API docs</title>
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="docs/assets/init.js"></script>
</body>
</html>
`;

// A separate script file instead of an inline one keeps the page working under a strict CSP.
const INIT_JS = `window.ui = SwaggerUIBundle({
  url: new URL('openapi.json', document.baseURI).href,
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
});
`;

/**
 * `GET /openapi.json` (the document) and `GET /docs` (Swagger UI from the locally installed
 * swagger-ui-dist package, never a CDN). Mount it at the app root or under a prefix; the page
 * uses relative URLs. `document` may be a function so it is built once, lazily.
 */
export function openApiRoutes(options: { document: Record<string, unknown> | (() => Record<string, unknown>) }): Router {
  const router = Router();
  let cached: Record<string, unknown> | undefined;
  const document = () => (cached ??= typeof options.document === 'function' ? options.document() : options.document);
  const assets = swaggerUiDir();
  router.get('/openapi.json', (_req, res) => {
    res.json(document());
  });
  router.get('/docs', (req, res) => {
    // The page's asset URLs are relative to `…/docs`; `…/docs/` would resolve them one level deeper.
    if (req.path.endsWith('/')) return res.redirect(301, req.originalUrl.replace(/\/+(\?|$)/, '$1'));
    res.type('html').send(DOCS_HTML);
  });
  router.get('/docs/assets/init.js', (_req, res) => {
    res.type('text/javascript; charset=utf-8').send(INIT_JS);
  });
  router.get('/docs/assets/:file', (req, res, next) => {
    const file = req.params.file;
    const type = SWAGGER_ASSETS[file];
    if (!type) return next();
    res.type(type).sendFile(join(assets, file), { maxAge: '1d' });
  });
  return router;
}
