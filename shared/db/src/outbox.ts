import type { Tx } from './client.ts';
import { newId } from '@hub/domain';

export interface OutboxMessage {
  topic: string;
  key: string | null;
  payload: Record<string, unknown>;
  headers?: Record<string, string>;
  /** Not before this time (deferred deliveries); default now. */
  availableAt?: Date;
}

/**
 * Writes outbox rows. Takes a Transaction on purpose: an outbox row is only ever written in
 * the same transaction as the state change it announces.
 */
export async function insertOutboxRows(tx: Tx, messages: OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await tx
    .insertInto('outbox')
    .values(
      messages.map((m) => ({
        id: newId(),
        topic: m.topic,
        message_key: m.key,
        payload: m.payload,
        headers: m.headers ?? {},
        ...(m.availableAt ? { available_at: m.availableAt } : {}),
      })),
    )
    .execute();
}
