import type { Deps } from '../deps.ts';
import { templateView } from './create-template.ts';

/** Every locale × channel version of a template key. */
export async function listTemplates(deps: Pick<Deps, 'db'>, input: { key: string }) {
  const rows = await deps.db.selectFrom('templates').selectAll().where('key', '=', input.key).orderBy('locale').orderBy('channel_type').execute();
  return { items: rows.map(templateView) };
}
