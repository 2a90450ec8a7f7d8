import { sql, type RawBuilder } from 'kysely';
import { newId } from '@hub/domain';
import type { Tx } from './client.ts';

export interface OutboxMessage {
  topic: string;
  key: string | null;
  payload: Record<string, unknown>;
  headers?: Record<string, string>;
  /** Not before this time (deferred deliveries); default now. */
  availableAt?: Date;
}

/**
 * The one statement that writes outbox rows: every outbox row of the hub goes through it, run on
 * its own (insertOutboxRows), embedded in a data-modifying CTE, or compiled and pipelined by the
 * group-commit writer. `where`, a condition on `e` (the row about to be written: `e.payload` is
 * its JSON text), keeps only some rows, e.g. the events of the rows a CTE changed.
 */
export function outboxInsert(messages: OutboxMessage[], where?: RawBuilder<unknown>): RawBuilder<unknown> {
  const ids: string[] = [];
  const topics: string[] = [];
  const keys: (string | null)[] = [];
  const payloads: string[] = [];
  const headers: string[] = [];
  // ISO text: postgres.js sends an array of Dates as one timestamptz, not an array of them.
  const availableAt: (string | null)[] = [];
  for (const m of messages) {
    ids.push(newId());
    topics.push(m.topic);
    keys.push(m.key);
    payloads.push(JSON.stringify(m.payload));
    headers.push(JSON.stringify(m.headers ?? {}));
    availableAt.push(m.availableAt?.toISOString() ?? null);
  }
  return sql`
    insert into outbox (id, topic, message_key, payload, headers, available_at)
    select e.id, e.topic, e.message_key, e.payload::jsonb, e.headers::jsonb, coalesce(e.available_at, now())
    from unnest(${ids}::uuid[], ${topics}::text[], ${keys}::text[], ${payloads}::text[], ${headers}::text[], ${availableAt}::timestamptz[])
         as e(id, topic, message_key, payload, headers, available_at)
    ${where ? sql`where ${where}` : sql``}`;
}

/**
 * Writes outbox rows. Takes a Transaction on purpose: an outbox row is only ever written in
 * the same transaction as the state change it announces.
 */
export async function insertOutboxRows(tx: Tx, messages: OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await outboxInsert(messages).execute(tx);
}
