import { sql, type RawBuilder } from 'kysely';
import { newId } from '@hub/domain';
import type { DbOrTx } from './client.ts';

export interface AuditEntry {
  actor: string;
  action: string;
  targetType: string;
  targetId: string | null;
  details?: Record<string, unknown>;
}

/**
 * The one statement that writes audit rows, run on its own (recordAudit, or for a batch of
 * receipts) or embedded in the group-commit writer's statement.
 */
export function auditInsert(entries: AuditEntry[]): RawBuilder<unknown> {
  return sql`
    insert into audit_events (id, actor, action, target_type, target_id, details)
    select e.id, e.actor, e.action, e.target_type, e.target_id, e.details::jsonb
    from unnest(${entries.map(() => newId())}::uuid[], ${entries.map((e) => e.actor)}::text[], ${entries.map((e) => e.action)}::text[],
                ${entries.map((e) => e.targetType)}::text[], ${entries.map((e) => e.targetId)}::text[],
                ${entries.map((e) => JSON.stringify(e.details ?? {}))}::text[])
         as e(id, actor, action, target_type, target_id, details)`;
}

/** Appends to the audit trail; pass the use case's transaction so the entry commits with the act. */
export async function recordAudit(db: DbOrTx, entry: AuditEntry): Promise<void> {
  await auditInsert([entry]).execute(db);
}
