import type { Channel, ErrorClass } from '@hub/domain';
import { VendorError, type VendorAccepted, type VendorRequest, type VendorSender } from './types.ts';

/** Random failure rates per error class (0..1 each; their sum at most 1). */
export interface FailureMix {
  transient: number;
  permanent: number;
  invalid_recipient: number;
}

export interface MockVendorOptions {
  channel: Channel;
  /** Simulated vendor latency per call. */
  latencyMs: number;
  failureMix: FailureMix;
  random?: () => number;
}

const PHONE_OUTCOMES: Record<string, ErrorClass> = {
  '+15005550001': 'invalid_recipient',
  '+15005550009': 'permanent',
  '+15005559999': 'transient',
};

/**
 * The outcome SPEC §4 assigns to an address, as the vendors' own sandboxes do (SES mailbox
 * simulator, Twilio magic numbers), or undefined for "succeeds unless the random mix fails it".
 */
export function addressOutcome(channel: Channel, address: string): ErrorClass | 'success' | undefined {
  switch (channel) {
    case 'EMAIL': {
      const lower = address.toLowerCase();
      if (lower === 'success@simulator.amazonses.com') return 'success';
      if (lower === 'bounce@simulator.amazonses.com') return 'permanent';
      const local = lower.slice(0, lower.lastIndexOf('@'));
      return local.endsWith('+transient') ? 'transient' : undefined;
    }
    case 'SMS':
    case 'KAKAO_ALIMTALK':
      return PHONE_OUTCOMES[address];
    case 'PUSH':
      if (address.startsWith('invalid-')) return 'invalid_recipient';
      if (address.startsWith('permanent-')) return 'permanent';
      if (address.startsWith('transient-')) return 'transient';
      return undefined;
  }
}

/** In-process vendor (VENDOR_MODE=mock): address-driven outcomes, latency and a random failure mix. */
export class MockVendor implements VendorSender {
  readonly name: string;
  private readonly options: MockVendorOptions;
  private readonly random: () => number;
  private sequence = 0;

  constructor(options: MockVendorOptions) {
    this.options = options;
    this.name = `mock-${options.channel.toLowerCase()}`;
    this.random = options.random ?? Math.random;
  }

  async send(request: VendorRequest): Promise<VendorAccepted> {
    if (this.options.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs));
    const outcome = addressOutcome(request.channel, request.address) ?? this.randomOutcome();
    if (outcome !== 'success') throw new VendorError(outcome, `mock ${request.channel} vendor refused the address`);
    this.sequence++;
    return { vendorMessageId: `${this.name}-${request.attemptId}-${this.sequence}` };
  }

  private randomOutcome(): ErrorClass | 'success' {
    const { transient, permanent, invalid_recipient } = this.options.failureMix;
    if (transient + permanent + invalid_recipient <= 0) return 'success';
    const roll = this.random();
    if (roll < transient) return 'transient';
    if (roll < transient + permanent) return 'permanent';
    if (roll < transient + permanent + invalid_recipient) return 'invalid_recipient';
    return 'success';
  }
}
