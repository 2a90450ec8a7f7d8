// What the dispatcher hands a vendor for a claimed attempt (issue 15): besides the rendered text,
// the notification's kind and payload, the PUSH device's platform, and the KAKAO_ALIMTALK
// template's provider code and buttons stored on the attempt at ingest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@hub/db';
import { deliveryRequestedSchema } from '@hub/messaging';
import { Registry } from '@hub/observability';
import { createTestContext, seedNotification, type TestContext } from '@hub/testing';
import type { VendorAccepted, VendorRequest, VendorSender } from '@hub/vendors';
import { DeliveryStore } from './delivery-store.ts';
import { createDispatchMetrics, handleDelivery } from './handle-delivery.ts';
import { ProtectedVendor } from './vendor-call.ts';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext({ createTopics: false });
});
afterAll(async () => {
  await ctx?.close();
});

class CapturingVendor implements VendorSender {
  readonly name = 'capturing';
  readonly requests: VendorRequest[] = [];
  async send(request: VendorRequest): Promise<VendorAccepted> {
    this.requests.push(request);
    return { vendorMessageId: `v-${this.requests.length}` };
  }
}

async function dispatchAll(attemptIds: string[]): Promise<VendorRequest[]> {
  const sender = new CapturingVendor();
  const vendor = new ProtectedVendor(sender, { attempts: 1, timeoutMs: 1_000, breaker: { errorThresholdPercentage: 50, volumeThreshold: 100, resetTimeoutMs: 10_000 } });
  const store = new DeliveryStore({ db: ctx.database.db, topics: ctx.topics, clock: () => new Date(), logger: ctx.logger, leaseMs: 60_000, backoff: { baseMs: 1_000, maxMs: 60_000 } });
  const metrics = createDispatchMetrics(new Registry());
  try {
    for (const attemptId of attemptIds) {
      const row = await ctx.database.db
        .selectFrom('outbox')
        .select('payload')
        .where(({ ref, eb }) => eb(ref('payload', '->>').key('attemptId'), '=', attemptId))
        .where(({ ref, eb }) => eb(ref('payload', '->>').key('type'), '=', 'delivery.requested'))
        .executeTakeFirstOrThrow();
      await handleDelivery({ store, vendor, logger: ctx.logger, metrics, stopping: () => false }, deliveryRequestedSchema.parse(row.payload));
    }
  } finally {
    await vendor.close();
  }
  return sender.requests;
}

describe('the vendor request of a claimed attempt', () => {
  it("carries the kind, the payload and the PUSH device's platform", async () => {
    const recipientId = `user-${newId()}`;
    const deviceId = newId();
    await ctx.database.db
      .insertInto('device_tokens')
      .values({ id: deviceId, recipient_id: recipientId, platform: 'IOS', token: `ios-token-${deviceId}` })
      .execute();
    const seeded = await seedNotification(ctx.database.db, ctx.topics, {
      recipientId,
      kind: 'SECURITY',
      deliveries: [{ channel: 'PUSH', address: `ios-token-${deviceId}`, deviceTokenId: deviceId }],
    });
    await ctx.database.db.updateTable('notifications').set({ payload: { deepLink: 'app://security' } }).where('id', '=', seeded.notificationId).execute();
    const [request] = await dispatchAll(seeded.attemptIds);
    expect(request).toMatchObject({ channel: 'PUSH', kind: 'SECURITY', payload: { deepLink: 'app://security' }, platform: 'IOS' });
  });

  it("carries the KAKAO_ALIMTALK template's provider code and buttons stored on the attempt", async () => {
    const seeded = await seedNotification(ctx.database.db, ctx.topics, {
      kind: 'TRANSACTIONAL',
      deliveries: [
        { channel: 'KAKAO_ALIMTALK', address: '+821012345678' },
        { channel: 'KAKAO_ALIMTALK', address: '+821012345679' },
      ],
    });
    const [withTemplate, plain] = seeded.attemptIds as [string, string];
    const buttons = [{ type: 'WL', name: 'Track', linkMobile: 'https://shop.example/track/42' }];
    await ctx.database.db.updateTable('delivery_attempts').set({ provider_template_code: 'ORDER_SHIPPED_01', buttons }).where('id', '=', withTemplate).execute();
    const requests = await dispatchAll([withTemplate, plain]);
    expect(requests[0]).toMatchObject({ attemptId: withTemplate, providerTemplateCode: 'ORDER_SHIPPED_01', buttons, platform: null });
    expect(requests[1]).toMatchObject({ attemptId: plain, providerTemplateCode: null, buttons: null });
  });
});
