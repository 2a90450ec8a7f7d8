// The delivery pipeline as it runs in production: the relay and the four dispatchers as
// separate processes against real Postgres and Kafka, with the mock vendors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import {
  createTestContext,
  pollUntil,
  seedDevice,
  seedNotification,
  seedNotifications,
  startService,
  type ServiceProcess,
  type TestContext,
} from '@hub/testing';

let ctx: TestContext;
const running = new Map<string, ServiceProcess>();

const DISPATCHERS = ['dispatcher-push', 'dispatcher-email', 'dispatcher-sms', 'dispatcher-kakao'] as const;

async function start(service: string, extra: Record<string, string> = {}): Promise<ServiceProcess> {
  const { process: child } = await startService(service, {
    ...ctx.env,
    // Fast enough for a test, same code paths as production.
    RETRY_BACKOFF_BASE_MS: '50',
    RETRY_BACKOFF_MAX_MS: '200',
    DISPATCH_LEASE_MS: '3000',
    VENDOR_TIMEOUT_MS: '2000',
    RELAY_MAINTENANCE_INTERVAL_MS: '100',
    RELAY_POLL_INTERVAL_MS: '200',
    // The +transient address fails 24 vendor calls on purpose; it must not open the breaker
    // for the other deliveries of this file.
    VENDOR_BREAKER_VOLUME: '100000',
    SHUTDOWN_TIMEOUT_MS: '15000',
    ...extra,
  });
  running.set(service, child);
  return child;
}

async function stop(service: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string> {
  const child = running.get(service)!;
  running.delete(service);
  child.kill(signal);
  return child.exited;
}

const attempts = (ids: string[]) =>
  ctx.database.db.selectFrom('delivery_attempts').selectAll().where('id', 'in', ids).execute();

const notificationStatus = async (id: string) =>
  (await ctx.database.db.selectFrom('notifications').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

beforeAll(async () => {
  ctx = await createTestContext();
  await Promise.all([start('outbox-relay'), ...DISPATCHERS.map((s) => start(s))]);
}, 120_000);

afterAll(async () => {
  await Promise.all([...running.keys()].map((s) => stop(s)));
  await ctx?.close();
});

describe('relay and dispatchers as separate processes', () => {
  it('delivers a four-channel notification to two devices and completes it', async () => {
    const recipientId = `user-${crypto.randomUUID()}`;
    const tokens = ['phone-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'tablet-token-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'];
    const devices = await Promise.all(tokens.map((t) => seedDevice(ctx.database.db, recipientId, t)));
    const seeded = await seedNotification(ctx.database.db, ctx.topics, {
      recipientId,
      kind: 'SECURITY',
      deliveries: [
        { channel: 'PUSH', address: tokens[0]!, deviceTokenId: devices[0]! },
        { channel: 'PUSH', address: tokens[1]!, deviceTokenId: devices[1]! },
        { channel: 'EMAIL', address: 'success@simulator.amazonses.com' },
        { channel: 'SMS', address: '+821012345678' },
        { channel: 'KAKAO_ALIMTALK', address: '+821012345678' },
      ],
    });
    await pollUntil('notification COMPLETED', async () => (await notificationStatus(seeded.notificationId)) === 'COMPLETED', {
      timeoutMs: 30_000,
    });
    const rows = await attempts(seeded.attemptIds);
    expect(rows.map((r) => r.status)).toEqual(Array(5).fill('SUCCEEDED'));
    expect(rows.every((r) => r.vendor_message_id && r.retry_count === 0)).toBe(true);
  });

  it('ends address-driven failures as SPEC §4 says, disables a dead token, and sends no SMS fallback beside an SMS attempt', async () => {
    const recipientId = `user-${crypto.randomUUID()}`;
    const deadToken = 'invalid-token-cccccccccccccccccccccccccccccccc';
    const deviceId = await seedDevice(ctx.database.db, recipientId, deadToken);
    const seeded = await seedNotification(ctx.database.db, ctx.topics, {
      recipientId,
      kind: 'MARKETING',
      recipientChannels: [
        { type: 'EMAIL', address: 'bounce@simulator.amazonses.com' },
        { type: 'SMS', address: '+821098765432' },
        { type: 'KAKAO_ALIMTALK', address: '+15005550009' },
      ],
      deliveries: [
        { channel: 'PUSH', address: deadToken, deviceTokenId: deviceId },
        { channel: 'EMAIL', address: 'bounce@simulator.amazonses.com' },
        { channel: 'SMS', address: '+15005559999' },
        { channel: 'KAKAO_ALIMTALK', address: '+15005550009' },
      ],
    });
    const [push, email, sms, kakao] = seeded.attemptIds as [string, string, string, string];
    await pollUntil('notification COMPLETED', async () => (await notificationStatus(seeded.notificationId)) === 'COMPLETED', {
      timeoutMs: 45_000,
    });
    const byId = Object.fromEntries((await attempts(seeded.attemptIds)).map((a) => [a.id, a]));
    expect(byId[push]).toMatchObject({ status: 'EXHAUSTED', retry_count: 1 });
    expect(byId[push]!.failure_reason).toMatch(/^invalid_recipient: /);
    expect(byId[email]).toMatchObject({ status: 'EXHAUSTED', retry_count: 1 });
    expect(byId[email]!.failure_reason).toMatch(/^permanent: /);
    // Transient every time: eight dispatches with backoff (SPEC §2's default), then the DLQ.
    expect(byId[sms]).toMatchObject({ status: 'EXHAUSTED', retry_count: 8 });
    expect(byId[sms]!.failure_reason).toMatch(/^transient: /);
    expect(byId[kakao]).toMatchObject({ status: 'EXHAUSTED', retry_count: 1 });
    const token = await ctx.database.db.selectFrom('device_tokens').select(['active', 'disabled_reason']).where('id', '=', deviceId).executeTakeFirstOrThrow();
    expect(token.active).toBe(false);
    // The notification already has an SMS attempt: no SMS fallback for its Kakao one (SPEC §4),
    // or the recipient would get the message twice.
    const fallback = await ctx.database.db.selectFrom('delivery_attempts').selectAll().where('fallback_of', '=', kakao).execute();
    expect(fallback).toEqual([]);
    const alerts = await ctx.database.db.selectFrom('outbox').select('payload').where('topic', '=', ctx.topics.alertFired).execute();
    expect(new Set(alerts.map((a) => a.payload.attemptId))).toEqual(new Set([push, email, sms, kakao]));
  });

  it('loses nothing and leaves nothing DISPATCHING when a dispatcher is SIGKILLed mid-batch and the relay restarts', async () => {
    await stop('dispatcher-sms');
    // A slow vendor, so the kill lands while deliveries are in flight.
    await start('dispatcher-sms', { MOCK_VENDOR_LATENCY_MS: '400', DISPATCH_CONCURRENCY: '8' });
    const seeded = await seedNotifications(
      ctx.database.db,
      ctx.topics,
      Array.from({ length: 60 }, (_, i) => ({
        kind: 'MARKETING' as const,
        deliveries: [{ channel: 'SMS' as const, address: `+8210${String(i).padStart(8, '0')}` }],
      })),
    );
    const ids = seeded.flatMap((s) => s.attemptIds);
    await pollUntil('deliveries in flight', async () => (await attempts(ids)).some((a) => a.status === 'DISPATCHING'), {
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    expect(await stop('dispatcher-sms', 'SIGKILL')).toBe('SIGKILL');
    expect(await stop('outbox-relay')).toBe(0);
    // Written while no relay runs: published after the restart.
    const late = await seedNotification(ctx.database.db, ctx.topics, {
      kind: 'SECURITY',
      deliveries: [{ channel: 'SMS', address: '+821011110000' }],
    });
    await start('outbox-relay');
    await start('dispatcher-sms');
    const all = [...ids, ...late.attemptIds];
    // The dead member's partitions move after Kafka's session timeout (6 s).
    await pollUntil('every delivery SUCCEEDED', async () => (await attempts(all)).every((a) => a.status === 'SUCCEEDED'), {
      timeoutMs: 110_000,
      intervalMs: 250,
    });
    const stuck = await ctx.database.db
      .selectFrom('delivery_attempts')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('status', '=', 'DISPATCHING')
      .executeTakeFirstOrThrow();
    expect(stuck.n).toBe(0);
    // The ones the killed worker held came back through lease recovery, as a counted retry
    // (these addresses never fail at the vendor, so that is the only way to a retry).
    expect((await attempts(ids)).some((a) => a.retry_count === 1)).toBe(true);
  }, 180_000);

  it('drains on SIGTERM and exits 0', async () => {
    for (const service of ['outbox-relay', ...DISPATCHERS]) expect(await stop(service)).toBe(0);
  });
});
