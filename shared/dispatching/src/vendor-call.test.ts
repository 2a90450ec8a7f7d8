import { afterEach, describe, expect, it, vi } from 'vitest';
import { VendorError, type VendorAccepted, type VendorRequest, type VendorSender } from '@hub/vendors';
import { TokenBucket } from './token-bucket.ts';
import { ProtectedVendor, type VendorPolicy } from './vendor-call.ts';

class ScriptedVendor implements VendorSender {
  readonly name = 'scripted';
  calls = 0;
  private readonly script: (call: number) => 'ok' | VendorError;
  constructor(script: (call: number) => 'ok' | VendorError) {
    this.script = script;
  }
  async send(_request: VendorRequest): Promise<VendorAccepted> {
    this.calls++;
    const step = this.script(this.calls);
    if (step === 'ok') return { vendorMessageId: `id-${this.calls}` };
    throw step;
  }
}

const policy: VendorPolicy = {
  attempts: 3,
  timeoutMs: 1_000,
  ratePerSecond: 0,
  breaker: { errorThresholdPercentage: 50, volumeThreshold: 1_000, resetTimeoutMs: 60_000 },
  // Shortest jitter: 100 and 200 ms between calls.
  random: () => 0,
};
const request: VendorRequest = { attemptId: 'a1', channel: 'SMS', address: '+821012345678', title: 't', body: 'b' };

describe('ProtectedVendor', () => {
  let vendor: ProtectedVendor | undefined;
  afterEach(async () => {
    await vendor?.close();
    vi.useRealTimers();
  });

  it('retries a transient error within the dispatch and returns the later success', async () => {
    const sender = new ScriptedVendor((call) => (call < 3 ? new VendorError('transient', '503') : 'ok'));
    vendor = new ProtectedVendor(sender, policy);
    expect(await vendor.send(request)).toEqual({ vendorMessageId: 'id-3' });
    expect(sender.calls).toBe(3);
  });

  it('gives up after three calls with the transient error', async () => {
    const sender = new ScriptedVendor(() => new VendorError('transient', '503'));
    vendor = new ProtectedVendor(sender, policy);
    const err = (await vendor.send(request).catch((e: unknown) => e)) as VendorError;
    expect(err).toBeInstanceOf(VendorError);
    expect(err.errorClass).toBe('transient');
    expect(sender.calls).toBe(3);
  });

  it('never retries a permanent or invalid-recipient error', async () => {
    for (const errorClass of ['permanent', 'invalid_recipient'] as const) {
      const sender = new ScriptedVendor(() => new VendorError(errorClass, 'no'));
      vendor = new ProtectedVendor(sender, policy);
      const err = (await vendor.send(request).catch((e: unknown) => e)) as VendorError;
      expect(err.errorClass).toBe(errorClass);
      expect(sender.calls).toBe(1);
      await vendor.close();
    }
    vendor = undefined;
  });

  it('fails fast with a transient "circuit open" once the vendor keeps failing, without calling it', async () => {
    const sender = new ScriptedVendor(() => new VendorError('transient', '503'));
    vendor = new ProtectedVendor(sender, { ...policy, attempts: 1, breaker: { errorThresholdPercentage: 50, volumeThreshold: 4, resetTimeoutMs: 60_000 } });
    for (let i = 0; i < 4; i++) await vendor.send(request).catch(() => {});
    expect(vendor.isOpen()).toBe(true);
    const err = (await vendor.send(request).catch((e: unknown) => e)) as VendorError;
    expect(err.message).toMatch(/^transient: circuit open/);
    expect(sender.calls).toBe(4);
  });

  it('does not open the circuit for permanent errors: they are about the message, not the vendor', async () => {
    const sender = new ScriptedVendor(() => new VendorError('permanent', 'rejected'));
    vendor = new ProtectedVendor(sender, { ...policy, breaker: { errorThresholdPercentage: 50, volumeThreshold: 4, resetTimeoutMs: 60_000 } });
    for (let i = 0; i < 10; i++) await vendor.send(request).catch(() => {});
    expect(vendor.isOpen()).toBe(false);
    expect(sender.calls).toBe(10);
  });

  it('counts a call that outlives the timeout as transient', async () => {
    const slow: VendorSender = { name: 'slow', send: () => new Promise(() => {}) };
    vendor = new ProtectedVendor(slow, { ...policy, attempts: 1, timeoutMs: 20 });
    const err = (await vendor.send(request).catch((e: unknown) => e)) as VendorError;
    expect(err.errorClass).toBe('transient');
  });
});

describe('TokenBucket', () => {
  it('lets a burst up to the rate through at once and queues the rest in arrival order', async () => {
    vi.useFakeTimers();
    let now = 0;
    const bucket = new TokenBucket({ ratePerSecond: 10, now: () => now });
    const started: number[] = [];
    const takes = Array.from({ length: 15 }, (_, i) => bucket.take().then(() => started.push(i)));
    await Promise.resolve();
    await Promise.resolve();
    expect(started).toHaveLength(10);
    now = 500;
    await vi.advanceTimersByTimeAsync(500);
    await Promise.all(takes);
    expect(started).toEqual(Array.from({ length: 15 }, (_, i) => i));
    vi.useRealTimers();
  });

  it('never waits when the cap is 0', async () => {
    // Fake timers: a take() that waited on a timer would never resolve.
    vi.useFakeTimers();
    const bucket = new TokenBucket({ ratePerSecond: 0 });
    let resolved = 0;
    await Promise.all(Array.from({ length: 1_000 }, () => bucket.take().then(() => resolved++)));
    expect(resolved).toBe(1_000);
    vi.useRealTimers();
  });
});
