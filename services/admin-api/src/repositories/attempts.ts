import { sql } from 'kysely';
import type { DbOrTx } from '@hub/db';
import { dlqWhere, errorClassSql, type DlqFilter } from './dlq-filter.ts';

const SUMMARY_COLUMNS = [
  'delivery_attempts.id',
  'delivery_attempts.notification_id',
  'delivery_attempts.channel',
  'delivery_attempts.address',
  'delivery_attempts.priority',
  'delivery_attempts.status',
  'delivery_attempts.retry_count',
  'delivery_attempts.failure_reason',
  'delivery_attempts.created_at',
  'delivery_attempts.updated_at',
] as const;

/** One page of DLQ entries in ascending id order (UUIDv7: creation order), after `after`. */
export async function listDlqPage(db: DbOrTx, options: { filter: DlqFilter; after?: string; limit: number }) {
  let query = db.selectFrom('delivery_attempts').select(SUMMARY_COLUMNS).where(dlqWhere(options.filter));
  if (options.after) query = query.where('delivery_attempts.id', '>', options.after);
  return query.orderBy('delivery_attempts.id').limit(options.limit).execute();
}

export type DlqSummaryRow = Awaited<ReturnType<typeof listDlqPage>>[number];

/** One attempt with everything the detail view shows, whatever its state. */
export async function findAttemptDetail(db: DbOrTx, attemptId: string) {
  return db
    .selectFrom('delivery_attempts')
    .select([
      ...SUMMARY_COLUMNS,
      'delivery_attempts.max_retry',
      'delivery_attempts.next_attempt_at',
      'delivery_attempts.dispatched_at',
      'delivery_attempts.completed_at',
      'delivery_attempts.vendor_message_id',
      'delivery_attempts.rendered_title',
      'delivery_attempts.rendered_body',
      'delivery_attempts.sms_segments',
      'delivery_attempts.fallback_of',
    ])
    .where('delivery_attempts.id', '=', attemptId)
    .executeTakeFirst();
}

/** How many DLQ entries match, and the first few ids (a bulk dry run). */
export async function estimateDlq(db: DbOrTx, filter: DlqFilter, sampleSize: number) {
  const [count, sample] = await Promise.all([
    db
      .selectFrom('delivery_attempts')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where(dlqWhere(filter))
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('delivery_attempts')
      .select('delivery_attempts.id')
      .where(dlqWhere(filter))
      .orderBy('delivery_attempts.id')
      .limit(sampleSize)
      .execute(),
  ]);
  return { count: Number(count.count), sampleIds: sample.map((r) => r.id) };
}

/**
 * DLQ totals in [from, to): per epoch-aligned bucket of `bucketSeconds`, per channel and per
 * error class. Buckets are floor(epoch / size) * size, so every replica and every query with
 * the same size agrees on the boundaries.
 */
export async function dlqStats(db: DbOrTx, range: { from: Date; to: Date; bucketSeconds: number }) {
  const where = dlqWhere({ from: range.from, to: range.to });
  const bucketStart = sql<Date>`to_timestamp(floor(extract(epoch from delivery_attempts.updated_at) / ${range.bucketSeconds}) * ${range.bucketSeconds})`;
  const [buckets, byChannel, byErrorClass] = await Promise.all([
    db
      .selectFrom('delivery_attempts')
      .select([bucketStart.as('bucket_start'), (eb) => eb.fn.countAll<string>().as('count')])
      .where(where)
      .groupBy(sql`1`)
      .orderBy(sql`1`)
      .execute(),
    db
      .selectFrom('delivery_attempts')
      .select(['delivery_attempts.channel', (eb) => eb.fn.countAll<string>().as('count')])
      .where(where)
      .groupBy('delivery_attempts.channel')
      .orderBy('delivery_attempts.channel')
      .execute(),
    db
      .selectFrom('delivery_attempts')
      .select((eb) => [errorClassSql(eb).as('error_class'), eb.fn.countAll<string>().as('count')])
      .where(where)
      .groupBy(sql`1`)
      .orderBy(sql`1`)
      .execute(),
  ]);
  return {
    buckets: buckets.map((b) => ({ start: new Date(b.bucket_start), count: Number(b.count) })),
    byChannel: byChannel.map((c) => ({ channel: c.channel, count: Number(c.count) })),
    byErrorClass: byErrorClass.map((e) => ({ errorClass: e.error_class, count: Number(e.count) })),
  };
}
