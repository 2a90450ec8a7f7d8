import { afterEach, describe, expect, it, vi } from 'vitest';
import { VendorError, type VendorAccepted, type VendorRequest, type VendorSender } from '@hub/vendors';
import { MAX_RETRY_AFTER_MS, NotSentError, ProtectedVendor, type VendorPolicy } from './vendor-call.ts';

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

  it('fails fast once the vendor keeps failing: not sent (not a failed dispatch), to retry at the trial time', async () => {
    const sender = new ScriptedVendor(() => new VendorError('transient', '503'));
    vendor = new ProtectedVendor(sender, { ...policy, attempts: 1, breaker: { errorThresholdPercentage: 50, volumeThreshold: 4, resetTimeoutMs: 60_000 } });
    for (let i = 0; i < 4; i++) await vendor.send(request).catch(() => {});
    expect(vendor.isOpen()).toBe(true);
    const before = Date.now();
    const err = (await vendor.send(request).catch((e: unknown) => e)) as NotSentError;
    expect(err).toBeInstanceOf(NotSentError);
    expect(err.message).toMatch(/^circuit open/);
    expect(err.retryAt.getTime()).toBeGreaterThanOrEqual(before + 59_000);
    expect(sender.calls).toBe(4);
  });

  it('counts a dispatch whose first call reached the vendor as failed when the breaker then refuses the retry', async () => {
    const sender = new ScriptedVendor(() => new VendorError('transient', '503'));
    vendor = new ProtectedVendor(sender, { ...policy, attempts: 3, breaker: { errorThresholdPercentage: 50, volumeThreshold: 1, resetTimeoutMs: 60_000 } });
    const err = (await vendor.send(request).catch((e: unknown) => e)) as VendorError;
    expect(err).toBeInstanceOf(VendorError);
    expect(err.errorClass).toBe('transient');
    expect(sender.calls).toBe(1);
  });

  it('starts no call once the lease has run out, no retry the lease could not cover, and none once the worker is stopping', async () => {
    const sender = new ScriptedVendor(() => 'ok');
    vendor = new ProtectedVendor(sender, policy);
    const late = await vendor.send(request, { deadline: Date.now() - 1 }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(NotSentError);
    const stopping = await vendor.send(request, { stopping: () => true }).catch((e: unknown) => e);
    expect(stopping).toBeInstanceOf(NotSentError);
    expect(sender.calls).toBe(0);
    expect(await vendor.send(request, { deadline: Date.now() + 5_000 })).toEqual({ vendorMessageId: 'id-1' });
    // A transient failure with 500 ms of lease left: no second call (the timeout is 1 s).
    const flaky = new ScriptedVendor(() => new VendorError('transient', '503'));
    const short = new ProtectedVendor(flaky, policy);
    const err = (await short.send(request, { deadline: Date.now() + 500 }).catch((e: unknown) => e)) as VendorError;
    await short.close();
    expect(err.errorClass).toBe('transient');
    expect(flaky.calls).toBe(1);
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

  it("waits the vendor's Retry-After before the next call instead of its own backoff", async () => {
    vi.useFakeTimers();
    const sender = new ScriptedVendor((call) => (call === 1 ? new VendorError('transient', '429', { retryAfterMs: 3_000 }) : 'ok'));
    vendor = new ProtectedVendor(sender, policy);
    const result = vendor.send(request);
    // Our own backoff would have called again after 100 ms; the vendor asked for 3 s.
    await vi.advanceTimersByTimeAsync(2_900);
    expect(sender.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(await result).toEqual({ vendorMessageId: 'id-2' });
    expect(sender.calls).toBe(2);
  });

  it('ends the dispatch at once when the Retry-After is longer than the lease or the in-dispatch limit', async () => {
    const tooLong = new ScriptedVendor(() => new VendorError('transient', '429', { retryAfterMs: MAX_RETRY_AFTER_MS + 1 }));
    vendor = new ProtectedVendor(tooLong, policy);
    const err = (await vendor.send(request).catch((e: unknown) => e)) as VendorError;
    expect(err).toBeInstanceOf(VendorError);
    expect(err.errorClass).toBe('transient');
    expect(tooLong.calls).toBe(1);
    await vendor.close();

    const pastLease = new ScriptedVendor(() => new VendorError('transient', '503', { retryAfterMs: 2_000 }));
    vendor = new ProtectedVendor(pastLease, policy);
    const late = (await vendor.send(request, { deadline: Date.now() + 2_500 }).catch((e: unknown) => e)) as VendorError;
    expect(late.errorClass).toBe('transient');
    expect(pastLease.calls).toBe(1);
  });
});
