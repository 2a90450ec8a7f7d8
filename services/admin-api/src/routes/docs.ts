import type { Router } from 'express';
import { z } from 'zod';
import { CHANNELS, ATTEMPT_STATUSES } from '@hub/domain';
import { openApiDocument, openApiRoutes, type OpenApiResponse } from '@hub/http';
import {
  attemptParamsSchema,
  bulkBodySchema,
  bulkDiscardBodySchema,
  discardBodySchema,
  jobParamsSchema,
  listQuerySchema,
  replayBodySchema,
  searchQuerySchema,
  statsQuerySchema,
} from './schemas.ts';
import { suppressionListQuerySchema, suppressionParamsSchema, suppressionSchema } from './suppressions.ts';

// Response shapes, for the document only (the use cases build them).
const summary = z.object({
  attemptId: z.uuid(),
  notificationId: z.uuid(),
  channel: z.enum(CHANNELS),
  priority: z.boolean(),
  address: z.string().describe('masked: TYPE:ab***yz'),
  status: z.enum(ATTEMPT_STATUSES),
  retryCount: z.number().int(),
  failureReason: z.string().nullable(),
  errorClass: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string().describe('when the attempt last changed; for a DLQ entry, when it was exhausted'),
});
const detail = summary.extend({
  maxRetry: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  dispatchedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  vendorMessageId: z.string().nullable(),
  renderedTitle: z.string(),
  renderedBody: z.string(),
  smsSegments: z.number().int().nullable(),
  fallbackOf: z.uuid().nullable(),
  expectedTopic: z.string(),
});
const page = z.object({ items: z.array(summary), nextCursor: z.uuid().nullable() });
const stats = z.object({
  from: z.string(),
  to: z.string(),
  bucket: z.string(),
  bucketSeconds: z.number().int(),
  total: z.number().int(),
  buckets: z.array(z.object({ start: z.string(), count: z.number().int() })),
  byChannel: z.array(z.object({ channel: z.enum(CHANNELS), count: z.number().int() })),
  byErrorClass: z.array(z.object({ errorClass: z.string().nullable(), count: z.number().int() })),
});
const dryRun = z.object({
  mode: z.literal('DRY_RUN'),
  estimatedCount: z.number().int(),
  sampleAttemptIds: z.array(z.uuid()).max(10),
  jobId: z.null(),
});
const executing = z.object({ mode: z.literal('EXECUTING'), jobId: z.uuid(), totalCount: z.number().int() });
const job = z.object({
  jobId: z.uuid(),
  operation: z.enum(['REPLAY', 'DISCARD']),
  state: z.enum(['RUNNING', 'SUCCEEDED', 'PARTIAL_FAILURE', 'FAILED']),
  totalCount: z.number().int(),
  processedCount: z.number().int(),
  successCount: z.number().int(),
  failureCount: z.number().int(),
  firstError: z.string().nullable(),
});

const guarded: Record<number, OpenApiResponse> = {
  401: { description: 'UNAUTHORIZED_ADMIN: missing or wrong X-Admin-Token (or none configured)' },
  429: { description: 'RATE_LIMIT_EXCEEDED: per IP × scope limit; see Retry-After' },
};
const tags = ['DLQ'];
const security = ['adminToken'];

export function adminOpenApiDocument(): Record<string, unknown> {
  return openApiDocument({
    title: 'Notification Hub admin API',
    version: '1',
    description:
      'Operators find, inspect, replay and discard failed deliveries (the DLQ = attempts in EXHAUSTED). ' +
      'Every request needs X-Admin-Token; requests are rate limited per caller IP and scope before the token is checked.',
    basePath: '/api/v1/admin',
    securitySchemes: { adminToken: { type: 'apiKey', in: 'header', name: 'X-Admin-Token' } },
    routes: [
      {
        method: 'get', path: '/dlq', summary: 'List DLQ entries (ascending id keyset)', tags, security, query: listQuerySchema,
        responses: { 200: { description: 'a page', schema: page }, 400: { description: 'malformed cursor or limit' }, ...guarded },
      },
      {
        method: 'get', path: '/dlq/search', summary: 'Search DLQ entries', tags, security, query: searchQuerySchema,
        description: 'channel beats topic; a topic is a delivery topic or a dispatcher consumer group; an unknown one matches nothing. from/to bound the time the attempt entered the DLQ, [from, to).',
        responses: { 200: { description: 'a page', schema: page.extend({ size: z.number().int() }) }, 400: { description: 'bad filter' }, ...guarded },
      },
      {
        method: 'get', path: '/dlq/stats', summary: 'DLQ totals by epoch-aligned bucket, channel and error class', tags, security, query: statsQuerySchema,
        responses: { 200: { description: 'totals (default: the last 24 h)', schema: stats }, 400: { description: 'bad range or bucket' }, ...guarded },
      },
      {
        method: 'post', path: '/dlq/bulk-replay', summary: 'Replay every matching DLQ entry (dry run unless confirm: true)', tags, security, body: bulkBodySchema,
        responses: { 200: { description: 'dry run', schema: dryRun }, 202: { description: 'job started', schema: executing }, 400: { description: 'bad filter' }, ...guarded },
      },
      {
        method: 'post', path: '/dlq/bulk-discard', summary: 'Discard every matching DLQ entry (dry run unless confirm: true; reason required)', tags, security, body: bulkDiscardBodySchema,
        responses: { 200: { description: 'dry run', schema: dryRun }, 202: { description: 'job started', schema: executing }, 400: { description: 'bad filter or no reason' }, ...guarded },
      },
      {
        method: 'get', path: '/dlq/bulk-jobs/:jobId', summary: 'Progress of a bulk job', tags, security, params: jobParamsSchema,
        responses: { 200: { description: 'the job', schema: job }, 400: { description: 'malformed id' }, 404: { description: 'BULK_JOB_NOT_FOUND' }, ...guarded },
      },
      {
        method: 'get', path: '/dlq/:attemptId', summary: 'One attempt (any state) with masked address and expected topic', tags, security, params: attemptParamsSchema,
        responses: { 200: { description: 'the attempt', schema: detail }, 400: { description: 'malformed id' }, 404: { description: 'ATTEMPT_NOT_FOUND' }, ...guarded },
      },
      {
        method: 'post', path: '/dlq/:attemptId/replay', summary: 'EXHAUSTED → PENDING, retry 0, published again', tags, security, params: attemptParamsSchema, body: replayBodySchema,
        responses: {
          200: { description: 'replayed' }, 400: { description: 'malformed id or body' }, 404: { description: 'ATTEMPT_NOT_FOUND' },
          409: { description: 'ILLEGAL_DLQ_OPERATION: not EXHAUSTED' }, ...guarded,
        },
      },
      {
        method: 'post', path: '/dlq/:attemptId/discard', summary: 'EXHAUSTED → PERMANENTLY_FAILED', tags, security, params: attemptParamsSchema, body: discardBodySchema,
        responses: {
          200: { description: 'discarded' }, 400: { description: 'malformed id or body' }, 404: { description: 'ATTEMPT_NOT_FOUND' },
          409: { description: 'ILLEGAL_DLQ_OPERATION: not EXHAUSTED' }, ...guarded,
        },
      },
      {
        method: 'delete', path: '/dlq/:attemptId', summary: 'Always refused: the audit trail keeps every attempt', tags, security, params: attemptParamsSchema,
        responses: { 405: { description: 'HARD_DELETE_NOT_SUPPORTED' }, ...guarded },
      },
      {
        method: 'get', path: '/suppressions', summary: 'The suppression list (hard bounces, complaints), ascending id keyset', tags: ['suppressions'], security,
        query: suppressionListQuerySchema,
        responses: {
          200: { description: 'a page', schema: z.object({ items: z.array(suppressionSchema), nextCursor: z.uuid().nullable() }) },
          400: { description: 'malformed channel, cursor or limit' }, ...guarded,
        },
      },
      {
        method: 'delete', path: '/suppressions/:id', summary: 'Take an address off the suppression list (audited as SUPPRESSION_REMOVE)', tags: ['suppressions'], security,
        params: suppressionParamsSchema,
        responses: {
          200: { description: 'removed', schema: z.object({ removed: suppressionSchema }) }, 400: { description: 'malformed id' },
          404: { description: 'SUPPRESSION_NOT_FOUND' }, ...guarded,
        },
      },
    ],
  });
}

/** `/openapi.json` and `/docs`: public, they describe the API and hold no data. */
export function docsRouter(): Router {
  return openApiRoutes({ document: adminOpenApiDocument });
}
