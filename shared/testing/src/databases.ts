import { createDb, migrateToLatest, openPostgres } from '@hub/db';

/** `postgres://…/<name>` with the database part replaced. */
export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** Creates and migrates the template every test file clones (once per test run). */
export async function createTemplateDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = openPostgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${name}"`);
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const handle = createDb({ url: withDatabase(adminUrl, name), max: 1, applicationName: 'test-template' });
  try {
    await migrateToLatest(handle.db);
  } finally {
    await handle.close();
  }
}

/**
 * Clones the migrated template (milliseconds, unlike migrating again). Postgres refuses a clone
 * while another clone of the same template is being made, so contention is retried.
 */
export async function cloneDatabase(adminUrl: string, template: string, name: string): Promise<string> {
  const admin = openPostgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.unsafe(`create database "${name}" template "${template}"`);
        return withDatabase(adminUrl, name);
      } catch (err) {
        const busy = err instanceof Error && /being accessed by other users/.test(err.message);
        if (!busy || attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
      }
    }
  } finally {
    await admin.end();
  }
}

/** Drops every database whose name starts with `prefix` (a test run's own clones). */
export async function dropDatabases(adminUrl: string, prefix: string): Promise<void> {
  const admin = openPostgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await admin<{ datname: string }[]>`
      select datname from pg_database where datname like ${`${prefix}%`}`;
    for (const { datname } of rows) {
      await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    }
  } finally {
    await admin.end();
  }
}
