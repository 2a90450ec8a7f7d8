import { badRequest } from '@hub/http';
import type { AdminDeps } from '../deps.ts';
import { dlqStats } from '../repositories/attempts.ts';

const DEFAULT_RANGE_MS = 24 * 60 * 60 * 1000;
/** More buckets than this is a mistake (PT1S over a month), not a chart. */
export const MAX_BUCKETS = 10_000;

/**
 * DLQ totals over [from, to) (default: the last 24 h): per epoch-aligned bucket (every bucket
 * in the range, empty ones as 0, so a chart has no gaps), per channel and per error class.
 */
export async function getDlqStats(
  deps: Pick<AdminDeps, 'db' | 'clock'>,
  input: { from?: Date | undefined; to?: Date | undefined; bucket: { text: string; seconds: number } },
) {
  const to = input.to ?? (input.from ? new Date(Math.max(deps.clock().getTime(), input.from.getTime())) : deps.clock());
  const from = input.from ?? new Date(to.getTime() - DEFAULT_RANGE_MS);
  if (from > to) throw badRequest('from must not be after to', { errors: [{ field: 'query.from', message: 'from must not be after to' }] });
  const bucketMs = input.bucket.seconds * 1000;
  const firstBucket = Math.floor(from.getTime() / bucketMs) * bucketMs;
  const bucketCount = Math.max(1, Math.ceil((to.getTime() - firstBucket) / bucketMs));
  if (bucketCount > MAX_BUCKETS) {
    throw badRequest(`range and bucket give ${bucketCount} buckets; at most ${MAX_BUCKETS}`, {
      errors: [{ field: 'query.bucket', message: `too small for this range (max ${MAX_BUCKETS} buckets)` }],
    });
  }
  const stats = await dlqStats(deps.db, { from, to, bucketSeconds: input.bucket.seconds });
  const counts = new Map(stats.buckets.map((b) => [b.start.getTime(), b.count]));
  const buckets = Array.from({ length: bucketCount }, (_, i) => {
    const start = firstBucket + i * bucketMs;
    return { start: new Date(start).toISOString(), count: counts.get(start) ?? 0 };
  });
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    bucket: input.bucket.text,
    bucketSeconds: input.bucket.seconds,
    total: stats.byChannel.reduce((sum, c) => sum + c.count, 0),
    buckets,
    byChannel: stats.byChannel,
    byErrorClass: stats.byErrorClass,
  };
}
