import { sql } from 'kysely';
import type { IHeaders } from 'kafkajs';
import type { Db } from '@hub/db';
import type { Producer } from '@hub/messaging';
import { spanHeaders, SpanKind, SpanStatusCode, traceContextOf, tracerOf, type Span } from '@hub/observability';

interface ClaimedRow {
  id: string;
  topic: string;
  message_key: string | null;
  /** The jsonb payload as text: published byte-for-byte, never parsed and re-serialised. */
  payload: string;
  headers: Record<string, string>;
}

/** Thrown when Kafka refused a claimed batch; the claim was rolled back, the rows stay unpublished. */
export class PublishError extends Error {
  readonly ids: string[];
  constructor(ids: string[], cause: unknown) {
    super('publishing an outbox batch failed', { cause });
    this.name = 'PublishError';
    this.ids = ids;
  }
}

/** Whether any row is due, in one autocommit statement on the outbox_pending index (no claim, no lock). */
export async function hasDueRows(db: Db): Promise<boolean> {
  const { rows } = await sql<{ due: boolean }>`select exists (select 1 from outbox where published_at is null and available_at <= now()) as due`.execute(db);
  return rows[0]!.due;
}

/**
 * Claims up to `limit` due rows (FOR UPDATE SKIP LOCKED: concurrent publishers and replicas
 * never claim the same row), publishes them with the idempotent producer (acks=all) and marks
 * them published, all inside one transaction: if the process dies before the commit the rows
 * are simply claimed again (at-least-once; consumers are idempotent). Returns the row count.
 */
export async function publishBatch(deps: { db: Db; producer: Producer }, limit: number): Promise<number> {
  return deps.db.transaction().execute(async (tx) => {
    // Only the outbox_pending index yields rows in claim order and lets the scan stop after
    // `limit`. Right after a burst of inserts the table's statistics are stale and the planner
    // may prefer a bitmap scan that reads and sorts the whole backlog (payloads included) on
    // every claim: hundreds of milliseconds per batch. Sorting is ruled out for this claim.
    await sql`set local enable_sort = off`.execute(tx);
    const { rows } = await sql<ClaimedRow>`
      select id, topic, message_key, payload::text as payload, headers
      from outbox
      where published_at is null and available_at <= now()
      order by available_at, id
      limit ${limit}
      for update skip locked`.execute(tx);
    if (rows.length === 0) return 0;
    const byTopic = new Map<string, { key: string | null; value: string; headers: IHeaders }[]>();
    const spans: Span[] = [];
    for (const row of rows) {
      let headers: IHeaders = row.headers;
      // A row written by a traced request continues its trace (ADR 0024): a producer span per
      // record, child of the request's span, whose context the record carries instead.
      if (row.headers.traceparent !== undefined) {
        const span = tracerOf('@hub/outbox-relay').startSpan(
          `publish ${row.topic}`,
          { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': row.topic, 'messaging.message.id': row.id } },
          traceContextOf(row.headers),
        );
        spans.push(span);
        headers = { ...row.headers, ...spanHeaders(span) };
      }
      const messages = byTopic.get(row.topic) ?? [];
      messages.push({ key: row.message_key, value: row.payload, headers });
      byTopic.set(row.topic, messages);
    }
    const ids = rows.map((r) => r.id);
    try {
      await deps.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (err) {
      for (const span of spans) span.setStatus({ code: SpanStatusCode.ERROR, message: 'kafka refused the batch' });
      throw new PublishError(ids, err);
    } finally {
      for (const span of spans) span.end();
    }
    // One array parameter instead of a thousand: cheaper to send and to plan.
    await sql`
      update outbox set published_at = now(), publish_attempts = publish_attempts + 1, last_error = null
      where id = any(${ids}::uuid[])`.execute(tx);
    return rows.length;
  });
}

/**
 * After a failed publish (outside the rolled-back claim): count the attempt, keep the error for
 * operators, and hold the rows back a little so a row Kafka keeps refusing (a deleted topic)
 * does not block the rows behind it.
 */
export async function recordPublishFailure(db: Db, ids: string[], error: string): Promise<void> {
  await db
    .updateTable('outbox')
    .set({
      publish_attempts: sql`publish_attempts + 1`,
      last_error: error.slice(0, 1_000),
      available_at: sql`now() + least(250 * power(2, least(publish_attempts, 10)), 30000) * interval '1 millisecond'`,
    })
    .where('id', 'in', ids)
    .where('published_at', 'is', null)
    .execute();
}
