import { readdirSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, pollUntil, type TestContext } from '@hub/testing';
import { newId } from '@hub/domain';
import { insertOutboxRows } from './outbox.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
});
afterAll(async () => {
  await ctx?.close();
});

describe('a test database cloned from the migrated template', () => {
  it('has every migration file applied', async () => {
    const files = readdirSync(new URL('./migrations', import.meta.url))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(ctx.database.db);
    expect(files[0]).toBe('0001_initial');
    expect(rows.map((r) => r.name)).toEqual(files);
  });

  it('writes a notification, its attempt and an outbox row in one transaction', async () => {
    const notificationId = newId();
    await ctx.database.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('notifications')
        .values({ id: notificationId, recipient_id: 'user-1', kind: 'SECURITY', title: 't', body: 'b', status: 'FANNED_OUT', idempotency_key: 'k1', payload: { a: '1' } })
        .execute();
      await tx
        .insertInto('delivery_attempts')
        .values({ id: newId(), notification_id: notificationId, channel: 'EMAIL', address: 'a@b.co', status: 'PENDING', rendered_title: 't', rendered_body: 'b' })
        .execute();
      await insertOutboxRows(tx, [{ topic: 'x', key: 'user-1', payload: { notificationId } }]);
    });
    const outbox = await ctx.database.db.selectFrom('outbox').selectAll().execute();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]!.payload).toEqual({ notificationId });
    const notification = await ctx.database.db.selectFrom('notifications').select(['payload', 'created_at']).executeTakeFirstOrThrow();
    expect(notification.payload).toEqual({ a: '1' });
    expect(notification.created_at).toBeInstanceOf(Date);
  });

  it('wakes the relay (NOTIFY outbox) for delivery rows only', async () => {
    const payloads: string[] = [];
    const listener = await ctx.database.sql.listen('outbox', (payload) => payloads.push(payload));
    try {
      const write = (topic: string) => ctx.database.db.transaction().execute((tx) => insertOutboxRows(tx, [{ topic, key: 'user-1', payload: {} }]));
      await write(`${ctx.namespace}.notify.vendor.result`);
      await write(`${ctx.namespace}.alert.fired`);
      // Notifications arrive in commit order: once the marker is here, the two rows' would be too.
      await sql`select pg_notify('outbox', 'marker')`.execute(ctx.database.db);
      await pollUntil('the marker', () => payloads.includes('marker'));
      expect(payloads).toEqual(['marker']);
      await write(`${ctx.namespace}.notification.delivery.sms.priority`);
      await write('notification.delivery.email');
      await pollUntil('both delivery rows announced', () => payloads.length === 3);
      expect(payloads).toEqual(['marker', '', '']);
    } finally {
      await listener.unlisten();
    }
  });

  it('rejects an attempt status outside the state machine', async () => {
    await expect(
      ctx.database.db
        .insertInto('delivery_attempts')
        .values({ id: newId(), notification_id: newId(), channel: 'EMAIL', address: 'x', status: 'BOGUS' as never, rendered_title: 't', rendered_body: 'b' })
        .execute(),
    ).rejects.toThrow();
  });

  it('keeps a Redis round trip inside this file\'s key prefix', async () => {
    await ctx.redis.set('probe', 'v', 'PX', 5_000, 'NX');
    expect(await ctx.redis.get('probe')).toBe('v');
    expect(await ctx.redis.set('probe', 'w', 'PX', 5_000, 'NX')).toBeNull();
    // ioredis prefixes keys of commands, not KEYS patterns (the server is shared with others).
    expect(await ctx.redis.keys(`${ctx.redisPrefix}*`)).toEqual([`${ctx.redisPrefix}probe`]);
  });
});
