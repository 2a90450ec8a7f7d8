// How long a bulk replay of N DLQ entries takes on this machine (default 10,000): from the
// operator's confirmed POST (snapshot + job row) until the job is SUCCEEDED, with one
// BulkJobRunner using admin-api's default page size and concurrency. Runs against a fresh,
// migrated database that is dropped afterwards. Needs DATABASE_URL (a maintenance database such
// as postgres://postgres@127.0.0.1:5432/postgres); Redis and Kafka are not involved.
//
//   npm run bench:admin                    # 10,000 attempts
//   BENCH_COUNT=2000 BULK_CONCURRENCY=8 npm run bench:admin
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { createDb, migrateToLatest, openPostgres, type Db } from '@hub/db';
import { createTopics } from '@hub/messaging';
import { createMetricsRegistry } from '@hub/observability';
import { BulkJobRunner } from '../../services/admin-api/src/jobs/bulk-job-runner.ts';
import { createAdminMetrics } from '../../services/admin-api/src/metrics.ts';
import { startBulkOperation } from '../../services/admin-api/src/usecases/start-bulk-operation.ts';
import { seedAttempts } from '../../services/admin-api/test/harness.ts';

const count = Number(process.env.BENCH_COUNT ?? 10_000);
const pageSize = Number(process.env.BULK_PAGE_SIZE ?? 200);
const concurrency = Number(process.env.BULK_CONCURRENCY ?? 8);
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `hub_bench_admin_${randomBytes(3).toString('hex')}`;

const admin = openPostgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database "${name}"`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const database = createDb({ url: url.toString(), max: 10, applicationName: 'bench-admin' });

try {
  await migrateToLatest(database.db);
  await seedAttempts(database.db as Db, { count, channel: 'EMAIL' });
  const registry = createMetricsRegistry('bench-admin');
  const deps = {
    db: database.db,
    logger: pino({ level: 'warn' }),
    metrics: createAdminMetrics(registry),
    topics: createTopics(''),
    clock: () => new Date(),
  };
  const runner = new BulkJobRunner(deps, { pageSize, concurrency, leaseMs: 30_000, pollIntervalMs: 10 });

  const started = performance.now();
  const { jobId } = (await startBulkOperation(deps, {
    operation: 'REPLAY',
    body: { channel: 'EMAIL', confirm: true, reason: 'benchmark' },
    actor: 'bench',
  })) as { jobId: string };
  const accepted = performance.now();
  runner.start();
  let job;
  for (;;) {
    job = await database.db.selectFrom('bulk_jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
    if (job.state !== 'RUNNING') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const done = performance.now();
  await runner.stop();

  const seconds = (done - started) / 1000;
  console.log(
    JSON.stringify({
      attempts: count,
      state: job.state,
      successCount: job.success_count,
      pageSize,
      concurrency,
      confirmMs: Math.round(accepted - started),
      totalSeconds: Number(seconds.toFixed(2)),
      attemptsPerSecond: Math.round(count / seconds),
    }),
  );
  console.log(`bulk replay of ${count} attempts: ${seconds.toFixed(2)} s (${Math.round(count / seconds)} attempts/s)`);
} finally {
  await database.close();
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
}
