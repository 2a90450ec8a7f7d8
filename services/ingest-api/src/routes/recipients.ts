import { Router } from 'express';
import { parseInput } from '@hub/http';
import { callerOf } from '../auth.ts';
import type { Deps } from '../deps.ts';
import { preferencesParams, putPreferencesBody, putRecipientBody, recipientParams } from '../schemas.ts';
import { getRecipient } from '../usecases/get-recipient.ts';
import { getPreferences, updatePreferences } from '../usecases/preferences.ts';
import { putRecipient } from '../usecases/put-recipient.ts';

export function recipientRoutes(deps: Deps): Router {
  const router = Router();
  router.put('/recipients/:id', async (req, res) => {
    const { id } = parseInput(recipientParams, req.params, 'params');
    const body = parseInput(putRecipientBody, req.body, 'body');
    const result = await putRecipient(deps, { id, ...body, caller: callerOf(res) });
    res.status(result.created ? 201 : 200).json(result.recipient);
  });
  router.get('/recipients/:id', async (req, res) => {
    const { id } = parseInput(recipientParams, req.params, 'params');
    res.json(await getRecipient(deps, { id, caller: callerOf(res) }));
  });
  return router;
}

export function preferenceRoutes(deps: Deps): Router {
  const router = Router();
  router.put('/users/:recipientId/preferences', async (req, res) => {
    const { recipientId } = parseInput(preferencesParams, req.params, 'params');
    const change = parseInput(putPreferencesBody, req.body, 'body');
    res.json(await updatePreferences(deps, { recipientId, change, caller: callerOf(res) }));
  });
  router.get('/users/:recipientId/preferences', async (req, res) => {
    const { recipientId } = parseInput(preferencesParams, req.params, 'params');
    res.json(await getPreferences(deps, { recipientId, caller: callerOf(res) }));
  });
  return router;
}
