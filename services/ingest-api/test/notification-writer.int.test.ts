import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@hub/db';
import { createTestContext, type TestContext } from '@hub/testing';
import type { NotificationWrite } from '@hub/attempts';
import { IdempotencyKeyTaken, NotificationWriter } from '../src/notification-writer.ts';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
});
afterAll(async () => {
  await ctx?.close();
});

function write(key: string, overrides: Partial<NotificationWrite['notification']> = {}): NotificationWrite {
  const id = newId();
  const now = new Date();
  return {
    idempotencyKey: key,
    notification: { id, recipient_id: 'writer-user', kind: 'SECURITY', payload: {}, status: 'FANNED_OUT', idempotency_key: key, created_at: now, updated_at: now, ...overrides },
    attempts: [{ id: newId(), notification_id: id, channel: 'EMAIL', address: 'w@example.com', status: 'PENDING', rendered_title: 't', rendered_body: 'b' }],
    outbox: [{ topic: 'test.topic', key: 'writer-user', payload: { notificationId: id } }],
    audit: { action: 'NOTIFICATION_ACCEPTED', details: {} },
  };
}

const count = async (table: 'notifications' | 'delivery_attempts' | 'outbox' | 'audit_events' | 'idempotency_keys', ids: string[]) => {
  const column = table === 'notifications' ? 'id' : table === 'delivery_attempts' ? 'notification_id' : table === 'idempotency_keys' ? 'notification_id' : null;
  if (column) return (await ctx.database.db.selectFrom(table).select(column).where(column, 'in', ids).execute()).length;
  if (table === 'audit_events') return (await ctx.database.db.selectFrom('audit_events').select('id').where('target_id', 'in', ids).execute()).length;
  return (await ctx.database.db.selectFrom('outbox').select('id').where(({ eb, ref }) => eb(ref('payload', '->>').key('notificationId' as never), 'in', ids)).execute()).length;
};

describe('NotificationWriter (group commit)', () => {
  it('commits concurrent writes in shared transactions, each complete', async () => {
    const writer = new NotificationWriter({ db: ctx.database.db, sql: ctx.database.sql, logger: ctx.logger }, { maxBatch: 8, maxConcurrent: 1 });
    const writes = Array.from({ length: 30 }, (_, i) => write(`batch-${i}-${newId()}`));
    await Promise.all(writes.map((w) => writer.write(w)));
    const ids = writes.map((w) => w.notification.id);
    for (const table of ['notifications', 'delivery_attempts', 'outbox', 'audit_events', 'idempotency_keys'] as const) {
      expect(await count(table, ids)).toBe(30);
    }
  });

  it('rejects only the write whose key Postgres already holds, naming the owner, and commits its neighbours', async () => {
    const writer = new NotificationWriter({ db: ctx.database.db, sql: ctx.database.sql, logger: ctx.logger }, { maxBatch: 16, maxConcurrent: 1 });
    const taken = write(`taken-${newId()}`);
    await writer.write(taken);
    const duplicate = write(taken.idempotencyKey);
    const others = Array.from({ length: 6 }, () => write(`ok-${newId()}`));
    // The first write occupies the only slot, so the rest queue up and go in one batch.
    const results = await Promise.allSettled([writer.write(write(`lead-${newId()}`)), ...others.map((w) => writer.write(w)), writer.write(duplicate)]);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    const reason = (rejected[0] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(IdempotencyKeyTaken);
    expect(reason.notificationId).toBe(taken.notification.id);
    expect(await count('notifications', others.map((w) => w.notification.id))).toBe(6);
    expect(await count('notifications', [duplicate.notification.id])).toBe(0);
    expect(await count('delivery_attempts', [duplicate.notification.id])).toBe(0);
  });

  it('waits for a transaction holding the key: rejected naming the holder once it commits, written once it rolls back', async () => {
    const writer = new NotificationWriter({ db: ctx.database.db, sql: ctx.database.sql, logger: ctx.logger }, { maxBatch: 16, maxConcurrent: 1 });
    for (const outcome of ['commit', 'rollback'] as const) {
      const mine = write(`held-${outcome}-${newId()}`);
      const holder = newId();
      let written: Promise<PromiseSettledResult<void>[]> | undefined;
      await ctx.database.sql
        .begin(async (tx) => {
          await tx`insert into idempotency_keys (key, notification_id) values (${mine.idempotencyKey}, ${holder})`;
          written = Promise.allSettled([writer.write(mine)]);
          // The write is blocked on the holder's row lock until this transaction ends.
          const deadline = Date.now() + 5_000;
          while ((await ctx.database.sql`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`).length === 0) {
            if (Date.now() > deadline) throw new Error('the write never waited for the holder');
            await new Promise((r) => setTimeout(r, 10));
          }
          if (outcome === 'rollback') throw new Error('roll back');
        })
        .catch((err: unknown) => {
          if (outcome === 'commit') throw err;
        });
      const [result] = await written!;
      if (outcome === 'commit') {
        expect(result!.status).toBe('rejected');
        const reason = (result as PromiseRejectedResult).reason;
        expect(reason).toBeInstanceOf(IdempotencyKeyTaken);
        expect(reason.notificationId).toBe(holder);
        expect(await count('notifications', [mine.notification.id])).toBe(0);
      } else {
        expect(result!.status).toBe('fulfilled');
        expect(await count('notifications', [mine.notification.id])).toBe(1);
        expect(await count('idempotency_keys', [mine.notification.id])).toBe(1);
      }
    }
  });

  it('fails only the broken write of a batch: the others are retried alone and commit', async () => {
    const writer = new NotificationWriter({ db: ctx.database.db, sql: ctx.database.sql, logger: ctx.logger }, { maxBatch: 16, maxConcurrent: 1 });
    const good = Array.from({ length: 5 }, () => write(`good-${newId()}`));
    // Violates the notifications.kind check constraint.
    const broken = write(`broken-${newId()}`, { kind: 'NOPE' as never });
    const results = await Promise.allSettled([writer.write(write(`lead-${newId()}`)), ...good.map((w) => writer.write(w)), writer.write(broken)]);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(await count('notifications', good.map((w) => w.notification.id))).toBe(5);
    expect(await count('outbox', [broken.notification.id])).toBe(0);
    expect(await count('idempotency_keys', [broken.notification.id])).toBe(0);
  });
});
