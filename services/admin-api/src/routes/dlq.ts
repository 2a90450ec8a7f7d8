import express, { Router } from 'express';
import { AppError, parseInput, verifyJsonBody } from '@hub/http';
import type { AdminDeps } from '../deps.ts';
import { guard } from '../access/guard.ts';
import { AdminRateLimiter } from '../access/rate-limit.ts';
import { discardAttempt } from '../usecases/discard-attempt.ts';
import { getDlqStats } from '../usecases/dlq-stats.ts';
import { getBulkJob } from '../usecases/get-bulk-job.ts';
import { getDlqAttempt } from '../usecases/get-dlq-attempt.ts';
import { listDlq } from '../usecases/list-dlq.ts';
import { replayAttempt } from '../usecases/replay-attempt.ts';
import { resolveFilter } from '../usecases/resolve-filter.ts';
import { startBulkOperation } from '../usecases/start-bulk-operation.ts';
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

/** The DLQ API under /api/v1/admin (SPEC §5). Every route: rate limit per IP × scope, then the token. */
export function dlqRouter(deps: AdminDeps): Router {
  const router = Router();
  const limiter = new AdminRateLimiter(deps.redis, { limit: deps.access.rateLimitPerMinute });
  const read = guard({ ...deps, rateLimiter: limiter }, 'dlq.read');
  const write = guard({ ...deps, rateLimiter: limiter }, 'dlq.write');
  const bulk = guard({ ...deps, rateLimiter: limiter }, 'dlq.bulk');
  // Every body is read as JSON whatever its content type, as ingest-api reads them: a body sent as
  // text/plain is not silently ignored (a discard without its reason), and bytes that are not
  // UTF-8 or repeat a key are a 400.
  const json = express.json({ limit: '16kb', type: () => true, verify: verifyJsonBody });
  const actor = deps.access.actor;

  router.get('/dlq', read, async (req, res) => {
    const query = parseInput(listQuerySchema, req.query, 'query');
    res.json(await listDlq(deps, { filter: {}, cursor: query.cursor, limit: query.limit }));
  });

  router.get('/dlq/search', read, async (req, res) => {
    const query = parseInput(searchQuerySchema, req.query, 'query');
    const page = await listDlq(deps, { filter: resolveFilter(deps.topics, query), cursor: query.cursor, limit: query.size });
    res.json({ ...page, size: query.size });
  });

  router.get('/dlq/stats', read, async (req, res) => {
    res.json(await getDlqStats(deps, parseInput(statsQuerySchema, req.query, 'query')));
  });

  router.post('/dlq/bulk-replay', bulk, json, async (req, res) => {
    const body = parseInput(bulkBodySchema, req.body ?? {}, 'body');
    const result = await startBulkOperation(deps, { operation: 'REPLAY', body, actor });
    res.status(result.mode === 'EXECUTING' ? 202 : 200).json(result);
  });

  router.post('/dlq/bulk-discard', bulk, json, async (req, res) => {
    const body = parseInput(bulkDiscardBodySchema, req.body ?? {}, 'body');
    const result = await startBulkOperation(deps, { operation: 'DISCARD', body, actor });
    res.status(result.mode === 'EXECUTING' ? 202 : 200).json(result);
  });

  router.get('/dlq/bulk-jobs/:jobId', read, async (req, res) => {
    const { jobId } = parseInput(jobParamsSchema, req.params, 'params');
    res.json(await getBulkJob(deps, jobId));
  });

  router.get('/dlq/:attemptId', read, async (req, res) => {
    const { attemptId } = parseInput(attemptParamsSchema, req.params, 'params');
    res.json(await getDlqAttempt(deps, attemptId));
  });

  router.post('/dlq/:attemptId/replay', write, json, async (req, res) => {
    const { attemptId } = parseInput(attemptParamsSchema, req.params, 'params');
    const body = parseInput(replayBodySchema, req.body ?? {}, 'body');
    res.json(await replayAttempt(deps, { attemptId, actor, reason: body.reason }));
  });

  router.post('/dlq/:attemptId/discard', write, json, async (req, res) => {
    const { attemptId } = parseInput(attemptParamsSchema, req.params, 'params');
    const body = parseInput(discardBodySchema, req.body ?? {}, 'body');
    res.json(await discardAttempt(deps, { attemptId, actor, reason: body.reason }));
  });

  // The audit trail needs the rows: a DLQ entry is replayed or discarded, never deleted.
  router.delete('/dlq/:attemptId', write, (req) => {
    deps.metrics.actions.inc({ action: 'DLQ_DELETE', outcome: 'refused' });
    deps.logger.warn({ component: 'dlq', actor, attemptId: String(req.params.attemptId) }, 'dlq hard delete refused');
    throw new AppError({
      code: 'HARD_DELETE_NOT_SUPPORTED',
      status: 405,
      message: 'DLQ entries cannot be deleted; discard them instead (POST /dlq/{id}/discard)',
      headers: { Allow: 'GET' },
    });
  });

  return router;
}
