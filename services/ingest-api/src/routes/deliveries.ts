import express, { Router } from 'express';
import { AppError, parseInput, parseJsonBody } from '@hub/http';
import type { Deps } from '../deps.ts';
import { ackBody, ackParams } from '../schemas.ts';
import { ackDelivery } from '../usecases/ack-delivery.ts';
import { claimReceipt, verifyWebhook, type ReceiptClaim, type VerifiedReceipt } from '../webhook-signature.ts';

export function deliveryRoutes(deps: Deps): Router {
  const router = Router();
  const log = deps.logger.child({ component: 'delivery-receipts' });
  // Raw bytes: the signature covers the body exactly as sent (whitespace included), so it must
  // be verified before, and independently of, JSON parsing.
  const raw = express.raw({ type: () => true, limit: deps.config.BODY_LIMIT_BYTES });
  router.post('/deliveries/:attemptId/ack', raw, async (req, res) => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let receipt: VerifiedReceipt;
    let claim: ReceiptClaim;
    try {
      receipt = verifyWebhook(
        { config: deps.config, now: deps.clock() },
        {
          vendor: req.get('x-notification-hub-vendor'),
          timestamp: req.get('x-notification-hub-timestamp'),
          signature: req.get('x-notification-hub-signature'),
          attemptId: String(req.params.attemptId),
          rawBody,
        },
      );
      claim = await claimReceipt(deps, receipt.replayKey);
    } catch (err) {
      if (err instanceof AppError) deps.metrics.deliveryAcks.inc({ vendor: 'unverified', outcome: 'rejected' });
      throw err;
    }
    const { vendor } = receipt;
    let result: Awaited<ReturnType<typeof ackDelivery>>;
    try {
      const { attemptId } = parseInput(ackParams, req.params, 'params');
      const body = parseInput(ackBody, parseJsonBody(rawBody), 'body');
      result = await ackDelivery(deps, { attemptId: attemptId.toLowerCase(), vendor, ...body });
    } catch (err) {
      // A client error (a 400, an unknown attempt) is final: the same receipt again is a replay.
      // Anything else (Postgres down, a bug) must not cost the vendor its retry.
      const settle = err instanceof AppError && err.status < 500 ? claim.remember() : claim.release();
      await settle.catch((settleErr: unknown) => log.warn({ err: settleErr, attemptId: req.params.attemptId, vendor }, 'receipt replay key not settled'));
      throw err;
    }
    // Applied: answer 202 even if Redis now fails (the key then expires after the processing
    // marker's short life instead of the full window).
    await claim.remember().catch((err: unknown) => log.warn({ err, attemptId: result.attemptId, vendor }, 'receipt replay key not settled'));
    deps.metrics.deliveryAcks.inc({ vendor, outcome: result.applied ? 'applied' : 'ignored' });
    res.status(202).json(result);
  });
  return router;
}
