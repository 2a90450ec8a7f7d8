import { Kysely, sql, type Transaction } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** A function that works inside or outside a transaction takes `DbOrTx`. */
export type DbOrTx = Db | Tx;

export interface DbHandle {
  db: Db;
  /** The raw postgres.js client, for LISTEN/NOTIFY and COPY. */
  sql: postgres.Sql;
  close: () => Promise<void>;
}

/** Opens a pool. `applicationName` shows in pg_stat_activity, which helps at 3 a.m. */
export function createDb(options: { url: string; max?: number; applicationName?: string }): DbHandle {
  const client = postgres(options.url, {
    max: options.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'notification-hub' },
  });
  const db = new Kysely<Database>({ dialect: new PostgresJSDialect({ postgres: client }) });
  return {
    db,
    sql: client,
    // Bounded: a query stuck on a connection the server dropped must not hold shutdown forever.
    close: async () => {
      await client.end({ timeout: 5 });
      await db.destroy();
    },
  };
}

/** Readiness check: one round trip. */
export async function pingDb(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
