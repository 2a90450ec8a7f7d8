import { Router } from 'express';
import { parseInput } from '@hub/http';
import type { Deps } from '../deps.ts';
import { historyQuery, idParams, idempotencyHeaders, sendNotificationBody } from '../schemas.ts';
import { getNotification } from '../usecases/get-notification.ts';
import { listHistory } from '../usecases/list-history.ts';
import { sendNotification } from '../usecases/send-notification.ts';

export function notificationRoutes(deps: Deps): Router {
  const router = Router();
  router.post('/notifications', async (req, res) => {
    const headers = parseInput(idempotencyHeaders, { 'idempotency-key': req.get('idempotency-key') }, 'headers');
    const body = parseInput(sendNotificationBody, req.body, 'body');
    const result = await sendNotification(deps, { idempotencyKey: headers['idempotency-key'], body });
    res.status(result.status === 'SUPPRESSED' ? 200 : 202).json({
      notificationId: result.notificationId,
      status: result.status,
      dispatchedChannels: result.dispatchedChannels,
      suppressionReason: result.suppressionReason,
      ...(result.scheduledFor ? { scheduledFor: result.scheduledFor.toISOString() } : {}),
    });
  });
  router.get('/notifications/me', async (req, res) => {
    const query = parseInput(historyQuery, req.query, 'query');
    res.json(await listHistory(deps, query));
  });
  router.get('/notifications/:id', async (req, res) => {
    const params = parseInput(idParams, req.params, 'params');
    res.json(await getNotification(deps, params));
  });
  return router;
}
