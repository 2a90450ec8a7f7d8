import { Kysely, type Transaction } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import { exponentialBackoffMs } from '@hub/domain';
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

/**
 * A postgres.js client for a connection URL, the one way the hub opens one. Besides
 * `postgres://user:pass@host:port/db` it takes libpq's form for a Unix-domain socket,
 * `postgres://user@localhost/db?host=/var/run/postgresql` (the directory holding
 * `.s.PGSQL.<port>`), which postgres.js would otherwise send to the server as a setting. A
 * Postgres on the same machine is much cheaper to reach over its socket than over loopback TCP.
 */
export function openPostgres(url: string, options: postgres.Options<Record<string, postgres.PostgresType>> = {}): postgres.Sql {
  const parsed = new URL(url);
  const socketDir = parsed.searchParams.get('host');
  if (socketDir === null) return postgres(url, options);
  if (!socketDir.startsWith('/')) throw new Error(`DATABASE_URL: the host parameter must be a socket directory (an absolute path), got "${socketDir}"`);
  parsed.searchParams.delete('host');
  return postgres(parsed.toString(), { ...options, path: `${socketDir.replace(/\/+$/, '')}/.s.PGSQL.${parsed.port || 5432}` });
}

/** Opens a pool. `applicationName` shows in pg_stat_activity, which helps at 3 a.m. */
export function createDb(options: { url: string; max?: number; applicationName?: string }): DbHandle {
  const client = openPostgres(options.url, {
    max: options.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 10,
    // Reconnect delay in seconds after the r-th failed connection, shared by the pool. The
    // library's default grows to 20 s, so after a database blip a service stayed unready for
    // up to 20 s once Postgres was back; 50 ms doubling, capped at 2 s, with jitter.
    backoff: (retries: number) => exponentialBackoffMs(retries, { baseMs: 50, maxMs: 2_000, jitter: { min: 0.5, spread: 0.5 } }) / 1_000,
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

/**
 * Readiness check: one round trip through the pool. Deliberately the raw client, not kysely:
 * kysely runs every query on a reserved connection, the path on which postgres.js can leave a
 * query unsettled after a connection loss (ADR 0014), and a probe must not get stuck there.
 */
export async function pingDb(handle: Pick<DbHandle, 'sql'>): Promise<void> {
  await handle.sql`select 1`;
}
