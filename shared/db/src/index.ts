export { createDb, openPostgres, pingDb, type Db, type DbHandle, type DbOrTx, type Tx } from './client.ts';
export { isUuid, isUuidV7, newId } from '@hub/domain';
export { migrateToLatest } from './migrate.ts';
export * from './schema.ts';
export { insertOutboxRows, outboxInsert, type OutboxMessage } from './outbox.ts';
export { auditInsert, recordAudit, type AuditEntry } from './audit.ts';
export { MicroBatcher } from './micro-batcher.ts';
