import { Router } from 'express';
import { AppError, parseInput } from '@hub/http';
import { inSpan, SpanKind, traceContextOf, tracerOf } from '@hub/observability';
import { callerOf, requireServiceCaller, type Caller } from '../auth.ts';
import type { Deps } from '../deps.ts';
import { historyQuery, idParams, idempotencyHeaders, sendNotificationBody } from '../schemas.ts';
import { getNotification } from '../usecases/get-notification.ts';
import { requireVisibleRecipient } from '../usecases/get-recipient.ts';
import { listHistory } from '../usecases/list-history.ts';
import { sendNotification } from '../usecases/send-notification.ts';

/**
 * Idempotency keys are one namespace (Redis and Postgres), so with authentication on each
 * caller's keys are prefixed with its `sub`: caller A's "1" and caller B's "1" are different
 * requests, and B's 409 never names A's notification. encodeURIComponent never yields ':', so
 * the first ':' ends the prefix whatever the sub or the key contain. The columns are text: the
 * longer key fits.
 */
function effectiveIdempotencyKey(caller: Caller, key: string): string {
  return caller.kind === 'service' ? `${encodeURIComponent(caller.sub)}:${key}` : key;
}

export function notificationRoutes(deps: Deps): Router {
  const router = Router();
  // The trace a notification's deliveries continue (ADR 0024): the caller's W3C trace context
  // when it sent one, else a new trace. The outbox rows carry this span's context on.
  router.post('/notifications', (req, res) =>
    inSpan(
      tracerOf('@hub/ingest-api'),
      'POST /api/v1/notifications',
      {
        kind: SpanKind.SERVER,
        parent: traceContextOf(req.headers),
        attributes: { 'http.request.method': 'POST', 'http.route': '/api/v1/notifications' },
        // A refused request is the caller's error, not the server's (OTel HTTP conventions).
        isError: (err) => !(err instanceof AppError && err.status < 500),
      },
      async (span) => {
        const caller = callerOf(res);
        requireServiceCaller(caller, 'send notifications');
        const headers = parseInput(idempotencyHeaders, { 'idempotency-key': req.get('idempotency-key') }, 'headers');
        const body = parseInput(sendNotificationBody, req.body, 'body');
        // A service sends only to recipients it created; another caller's answers like a missing one.
        if (caller.kind === 'service') await requireVisibleRecipient(deps.db, caller, body.recipientId);
        const result = await sendNotification(deps, {
          idempotencyKey: effectiveIdempotencyKey(caller, headers['idempotency-key']),
          body,
          createdBy: caller.kind === 'service' ? caller.sub : undefined,
        });
        const status = result.status === 'SUPPRESSED' ? 200 : 202;
        span.setAttributes({ 'http.response.status_code': status, 'hub.notification_id': result.notificationId, 'hub.status': result.status });
        res.status(status).json({
          notificationId: result.notificationId,
          status: result.status,
          dispatchedChannels: result.dispatchedChannels,
          suppressionReason: result.suppressionReason,
          ...(result.scheduledFor ? { scheduledFor: result.scheduledFor.toISOString() } : {}),
        });
      },
    ),
  );
  router.get('/notifications/me', async (req, res) => {
    const query = parseInput(historyQuery, req.query, 'query');
    res.json(await listHistory(deps, { ...query, caller: callerOf(res) }));
  });
  router.get('/notifications/:id', async (req, res) => {
    const params = parseInput(idParams, req.params, 'params');
    res.json(await getNotification(deps, { ...params, caller: callerOf(res) }));
  });
  return router;
}
