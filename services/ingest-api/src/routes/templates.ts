import { Router } from 'express';
import { parseInput } from '@hub/http';
import { callerOf, requireServiceCaller } from '../auth.ts';
import type { Deps } from '../deps.ts';
import { createTemplateBody, listTemplatesQuery } from '../schemas.ts';
import { createTemplate } from '../usecases/create-template.ts';
import { listTemplates } from '../usecases/list-templates.ts';

// Templates are the deployment's shared catalogue (unique by key, locale and channel): every
// service caller manages and uses them; a recipient-scoped token has no business with them.
export function templateRoutes(deps: Deps): Router {
  const router = Router();
  router.post('/templates', async (req, res) => {
    requireServiceCaller(callerOf(res), 'manage templates');
    const body = parseInput(createTemplateBody, req.body, 'body');
    res.status(201).json(await createTemplate(deps, body));
  });
  router.get('/templates', async (req, res) => {
    requireServiceCaller(callerOf(res), 'read templates');
    const query = parseInput(listTemplatesQuery, req.query, 'query');
    res.json(await listTemplates(deps, query));
  });
  return router;
}
