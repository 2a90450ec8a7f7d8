import { sql } from 'kysely';
import type { Db } from '@hub/db';
import { startsFrom } from './guard.ts';

export interface MaintenanceDue {
  /** Some attempt is DISPATCHING past its lease (recoverExpiredLeases has work). */
  expiredLeases: boolean;
  /** Some PENDING attempt's retry time has come (redriveDueRetries has work). */
  dueRetries: boolean;
}

/**
 * Whether the relay's maintenance has anything to do, in one autocommit statement on the same
 * partial indexes and guards as the two steps: most rounds find nothing, and each step's
 * transaction (BEGIN, locking read, COMMIT) is then three round trips for nothing, twice a second
 * per relay, most of an idle relay's work. A row that becomes due just after the probe is found
 * by the next round, as it would be after an empty claim.
 */
export async function maintenanceDue(db: Db, now: Date): Promise<MaintenanceDue> {
  const { rows } = await sql<{ expired_leases: boolean; due_retries: boolean }>`
    select exists (select 1 from delivery_attempts a where ${startsFrom('retry', 'a.status')} and a.lease_expires_at < ${now}) as expired_leases,
           exists (select 1 from delivery_attempts a where ${startsFrom('claim', 'a.status')} and a.next_attempt_at <= ${now}) as due_retries`.execute(db);
  const row = rows[0]!;
  return { expiredLeases: row.expired_leases, dueRetries: row.due_retries };
}
