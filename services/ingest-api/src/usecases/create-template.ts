import { newId, type AlimtalkButton, type Template } from '@hub/db';
import type { Channel } from '@hub/domain';
import { conflict } from '@hub/http';
import type { Deps } from '../deps.ts';

export function templateView(row: Template) {
  return {
    id: row.id,
    key: row.key,
    locale: row.locale,
    channelType: row.channel_type,
    titleTemplate: row.title_template,
    bodyTemplate: row.body_template,
    htmlBody: row.html_body,
    providerTemplateCode: row.provider_template_code,
    buttons: row.buttons,
    createdAt: row.created_at.toISOString(),
  };
}

export async function createTemplate(
  deps: Pick<Deps, 'db' | 'clock'>,
  input: {
    key: string;
    locale: string;
    channelType: Channel;
    titleTemplate: string;
    bodyTemplate: string;
    htmlBody?: string | undefined;
    providerTemplateCode?: string | undefined;
    buttons?: AlimtalkButton[] | undefined;
  },
): Promise<ReturnType<typeof templateView>> {
  const row = await deps.db
    .insertInto('templates')
    .values({
      id: newId(),
      key: input.key,
      locale: input.locale,
      channel_type: input.channelType,
      title_template: input.titleTemplate,
      body_template: input.bodyTemplate,
      html_body: input.htmlBody ?? null,
      provider_template_code: input.providerTemplateCode ?? null,
      buttons: input.buttons ?? null,
      created_at: deps.clock(),
    })
    .onConflict((oc) => oc.columns(['key', 'locale', 'channel_type']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) throw conflict('CONFLICT', `template ${input.key} (${input.locale}, ${input.channelType}) already exists`);
  return templateView(row);
}
