import { sql, type Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> and never import the app's table types.

// Kakao AlimTalk sends only messages that match a template approved at the provider (issue 15):
// each KAKAO_ALIMTALK template carries its provider template code and, optionally, the buttons
// approved with it (SENS button objects, at most 5). The attempt keeps the code and the buttons
// as ingest rendered them, as it keeps the rendered title and body, so the dispatcher (and a
// retry days later) sends what was decided whatever became of the template. All null for every
// other channel and for a KAKAO_ALIMTALK notification sent without a template.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table templates add column provider_template_code text`.execute(db);
  await sql`alter table templates add column buttons jsonb`.execute(db);
  await sql`alter table delivery_attempts add column provider_template_code text`.execute(db);
  await sql`alter table delivery_attempts add column buttons jsonb`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table delivery_attempts drop column buttons`.execute(db);
  await sql`alter table delivery_attempts drop column provider_template_code`.execute(db);
  await sql`alter table templates drop column buttons`.execute(db);
  await sql`alter table templates drop column provider_template_code`.execute(db);
}
