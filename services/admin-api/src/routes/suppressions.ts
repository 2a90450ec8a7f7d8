import { Router } from 'express';
import { z } from 'zod';
import { CHANNELS } from '@hub/domain';
import { parseInput } from '@hub/http';
import type { AdminDeps } from '../deps.ts';
import { guard } from '../access/guard.ts';
import { AdminRateLimiter } from '../access/rate-limit.ts';
import { listSuppressions } from '../usecases/list-suppressions.ts';
import { removeSuppression } from '../usecases/remove-suppression.ts';

export const suppressionListQuerySchema = z
  .object({
    channel: z.enum(CHANNELS).optional(),
    cursor: z.uuid({ message: 'must be a UUID' }).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

export const suppressionParamsSchema = z.object({ id: z.uuid({ message: 'must be a UUID' }) });

/** One entry as an operator sees it: the address masked as everywhere it leaves the database. */
export const suppressionSchema = z.object({
  id: z.uuid(),
  channel: z.enum(CHANNELS),
  address: z.string().describe('masked: TYPE:ab***yz'),
  reason: z.enum(['BOUNCED', 'COMPLAINED', 'MANUAL']),
  source: z.string().describe('who put it there: vendor:ses, vendor:twilio, …'),
  attemptId: z.uuid().nullable(),
  createdAt: z.string(),
});

/**
 * The suppression list under /api/v1/admin (issue 15): addresses hard-bounced or complained
 * about, which ingest no longer sends to. Same guard as the DLQ: rate limit per IP × scope, then
 * the token.
 */
export function suppressionsRouter(deps: AdminDeps): Router {
  const router = Router();
  const limiter = new AdminRateLimiter(deps.redis, { limit: deps.access.rateLimitPerMinute });
  const read = guard({ ...deps, rateLimiter: limiter }, 'suppressions.read');
  const write = guard({ ...deps, rateLimiter: limiter }, 'suppressions.write');

  router.get('/suppressions', read, async (req, res) => {
    const query = parseInput(suppressionListQuerySchema, req.query, 'query');
    res.json(await listSuppressions(deps, query));
  });

  router.delete('/suppressions/:id', write, async (req, res) => {
    const { id } = parseInput(suppressionParamsSchema, req.params, 'params');
    res.json(await removeSuppression(deps, { id, actor: deps.access.actor }));
  });

  return router;
}
