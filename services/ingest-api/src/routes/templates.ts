import { Router } from 'express';
import { parseInput } from '@hub/http';
import type { Deps } from '../deps.ts';
import { createTemplateBody, listTemplatesQuery } from '../schemas.ts';
import { createTemplate } from '../usecases/create-template.ts';
import { listTemplates } from '../usecases/list-templates.ts';

export function templateRoutes(deps: Deps): Router {
  const router = Router();
  router.post('/templates', async (req, res) => {
    const body = parseInput(createTemplateBody, req.body, 'body');
    res.status(201).json(await createTemplate(deps, body));
  });
  router.get('/templates', async (req, res) => {
    const query = parseInput(listTemplatesQuery, req.query, 'query');
    res.json(await listTemplates(deps, query));
  });
  return router;
}
