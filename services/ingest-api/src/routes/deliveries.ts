import express, { Router } from 'express';
import { AppError, badRequest, parseInput } from '@hub/http';
import type { Deps } from '../deps.ts';
import { ackBody, ackParams } from '../schemas.ts';
import { ackDelivery } from '../usecases/ack-delivery.ts';
import { verifyWebhook } from '../webhook-signature.ts';

export function deliveryRoutes(deps: Deps): Router {
  const router = Router();
  // Raw bytes: the signature covers the body exactly as sent (whitespace included), so it must
  // be verified before, and independently of, JSON parsing.
  const raw = express.raw({ type: () => true, limit: deps.config.BODY_LIMIT_BYTES });
  router.post('/deliveries/:attemptId/ack', raw, async (req, res) => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let vendor: string;
    try {
      vendor = await verifyWebhook(
        { redis: deps.redis, config: deps.config, now: deps.clock() },
        {
          vendor: req.get('x-notification-hub-vendor'),
          timestamp: req.get('x-notification-hub-timestamp'),
          signature: req.get('x-notification-hub-signature'),
          rawBody,
        },
      );
    } catch (err) {
      if (err instanceof AppError) deps.metrics.deliveryAcks.inc({ vendor: 'unverified', outcome: 'rejected' });
      throw err;
    }
    const { attemptId } = parseInput(ackParams, req.params, 'params');
    let json: unknown;
    try {
      json = JSON.parse(rawBody.toString('utf8'));
    } catch {
      throw badRequest('request body is not valid JSON');
    }
    const body = parseInput(ackBody, json, 'body');
    const result = await ackDelivery(deps, { attemptId: attemptId.toLowerCase(), vendor, ...body });
    deps.metrics.deliveryAcks.inc({ vendor, outcome: result.applied ? 'applied' : 'ignored' });
    res.status(202).json(result);
  });
  return router;
}
