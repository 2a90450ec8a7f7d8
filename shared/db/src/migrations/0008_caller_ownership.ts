import type { Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> and never import the app's table types.

// Caller scoping (ADR 0021): with authentication on, ingest-api shows a service caller only the
// recipients and notifications it created, by the `sub` of its token. Null = written while
// authentication was off; such rows belong to no caller once it is switched on (the ADR says how
// an operator hands them to one). Nullable without a default: adding them rewrites nothing.
// No index: every scoped read already finds its rows by primary key or by (recipient_id, id),
// and the owner is checked on those rows.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('recipients').addColumn('created_by', 'text').execute();
  await db.schema.alterTable('notifications').addColumn('created_by', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notifications').dropColumn('created_by').execute();
  await db.schema.alterTable('recipients').dropColumn('created_by').execute();
}
