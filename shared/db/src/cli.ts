// The migrate command: `npm run migrate` locally, a one-off job in deployments. Never run on
// service boot, so a bad migration cannot take every replica down at once.
import { z } from 'zod';
import { commonEnv, parseEnv } from '@hub/config';
import { createDb } from './client.ts';
import { migrateToLatest } from './migrate.ts';

const env = parseEnv(z.object({ DATABASE_URL: commonEnv.DATABASE_URL }), process.env);
const handle = createDb({ url: env.DATABASE_URL, max: 1, applicationName: 'migrate' });
try {
  const result = await migrateToLatest(handle.db);
  const applied = result.results?.map((r) => r.migrationName) ?? [];
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
} catch (err) {
  console.error('migration failed:', err);
  process.exitCode = 1;
} finally {
  await handle.close();
}
