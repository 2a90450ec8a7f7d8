import { Router } from 'express';
import { parseInput } from '@hub/http';
import type { Deps } from '../deps.ts';
import { idParams, registerDeviceBody } from '../schemas.ts';
import { registerDevice } from '../usecases/register-device.ts';
import { unregisterDevice } from '../usecases/unregister-device.ts';

export function deviceRoutes(deps: Deps): Router {
  const router = Router();
  router.post('/devices', async (req, res) => {
    const body = parseInput(registerDeviceBody, req.body, 'body');
    const result = await registerDevice(deps, body);
    res.status(result.created ? 201 : 200).json(result.device);
  });
  router.delete('/devices/:id', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    await unregisterDevice(deps, { id: id.toLowerCase() });
    res.status(204).end();
  });
  return router;
}
