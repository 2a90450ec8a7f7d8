import { sql, type Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> and never import the app's table types.

// An EMAIL template may carry an HTML body next to its text body (issue 15): values are
// HTML-escaped in that body only. The attempt keeps what ingest rendered from it, as it keeps
// the rendered title and text body, so the dispatcher (and a retry days later) sends the same
// HTML part whatever became of the template. Both null for every other channel and for an
// email sent without a template (text part only).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table templates add column html_body text`.execute(db);
  await sql`alter table delivery_attempts add column rendered_html_body text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table delivery_attempts drop column rendered_html_body`.execute(db);
  await sql`alter table templates drop column html_body`.execute(db);
}
