import { Router } from 'express';
import { parseInput } from '@hub/http';
import { callerOf } from '../auth.ts';
import type { Deps } from '../deps.ts';
import { idParams, registerDeviceBody } from '../schemas.ts';
import { registerDevice } from '../usecases/register-device.ts';
import { unregisterDevice } from '../usecases/unregister-device.ts';

export function deviceRoutes(deps: Deps): Router {
  const router = Router();
  // 201 when the token is new to the hub; 200 when it was registered already, for this recipient
  // (unchanged) or for another one (moved here): the body always names this recipient.
  router.post('/devices', async (req, res) => {
    const body = parseInput(registerDeviceBody, req.body, 'body');
    const result = await registerDevice(deps, { ...body, caller: callerOf(res) });
    res.status(result.created ? 201 : 200).json(result.device);
  });
  router.delete('/devices/:id', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    await unregisterDevice(deps, { id: id.toLowerCase(), caller: callerOf(res) });
    res.status(204).end();
  });
  return router;
}
