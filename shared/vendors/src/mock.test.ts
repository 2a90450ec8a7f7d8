import { describe, expect, it } from 'vitest';
import { MockVendor, addressOutcome } from './mock.ts';
import { VendorError } from './types.ts';

describe('mock vendor address outcomes (SPEC §4)', () => {
  it('follows the SES mailbox simulator and the +transient local part for EMAIL', () => {
    expect(addressOutcome('EMAIL', 'success@simulator.amazonses.com')).toBe('success');
    expect(addressOutcome('EMAIL', 'bounce@simulator.amazonses.com')).toBe('permanent');
    expect(addressOutcome('EMAIL', 'alice+transient@example.com')).toBe('transient');
    expect(addressOutcome('EMAIL', 'alice@transient.example.com')).toBeUndefined();
  });

  it('follows the magic numbers for SMS and KAKAO_ALIMTALK', () => {
    for (const channel of ['SMS', 'KAKAO_ALIMTALK'] as const) {
      expect(addressOutcome(channel, '+15005550001')).toBe('invalid_recipient');
      expect(addressOutcome(channel, '+15005550009')).toBe('permanent');
      expect(addressOutcome(channel, '+15005559999')).toBe('transient');
      expect(addressOutcome(channel, '+821012345678')).toBeUndefined();
    }
  });

  it('follows token prefixes for PUSH', () => {
    expect(addressOutcome('PUSH', 'invalid-abc')).toBe('invalid_recipient');
    expect(addressOutcome('PUSH', 'permanent-abc')).toBe('permanent');
    expect(addressOutcome('PUSH', 'transient-abc')).toBe('transient');
    expect(addressOutcome('PUSH', 'abc-invalid-')).toBeUndefined();
  });

  it('fails ordinary addresses by the configured random mix, each class in its share', async () => {
    const rolls = [0.05, 0.15, 0.25, 0.9];
    const vendor = new MockVendor({
      channel: 'SMS',
      latencyMs: 0,
      failureMix: { transient: 0.1, permanent: 0.1, invalid_recipient: 0.1 },
      random: () => rolls.shift()!,
    });
    const results: string[] = [];
    for (let i = 0; i < 4; i++) {
      results.push(
        await vendor.send({ attemptId: `a${i}`, channel: 'SMS', address: '+821012345678', title: 't', body: 'b' }).then(
          () => 'success',
          (err: VendorError) => err.errorClass,
        ),
      );
    }
    expect(results).toEqual(['transient', 'permanent', 'invalid_recipient', 'success']);
  });

  it('succeeds by default with a vendor message id and reasons start with the class word', async () => {
    const vendor = new MockVendor({ channel: 'EMAIL', latencyMs: 0, failureMix: { transient: 0, permanent: 0, invalid_recipient: 0 } });
    const ok = await vendor.send({ attemptId: 'a', channel: 'EMAIL', address: 'x@example.com', title: 't', body: 'b' });
    expect(ok.vendorMessageId).toMatch(/^mock-email-a-/);
    const err = await vendor
      .send({ attemptId: 'b', channel: 'EMAIL', address: 'bounce@simulator.amazonses.com', title: 't', body: 'b' })
      .catch((e: unknown) => e);
    expect((err as VendorError).message).toMatch(/^permanent: /);
  });
});
