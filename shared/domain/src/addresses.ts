import type { Channel } from './channels.ts';

/** SPEC §2 address rules (applied to the trimmed value). */
export const EMAIL_ADDRESS_PATTERN = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
export const E164_PATTERN = /^\+\d{8,15}$/;
export const DEVICE_TOKEN_MIN_LENGTH = 32;
export const DEVICE_TOKEN_MAX_LENGTH = 256;

/**
 * Whether `address` (already trimmed) is deliverable on `channel`. PUSH addresses are device
 * tokens; the others are directory entries.
 */
export function isValidAddress(channel: Channel, address: string): boolean {
  if (address.trim() !== address || address.length === 0) return false;
  switch (channel) {
    case 'EMAIL':
      return EMAIL_ADDRESS_PATTERN.test(address);
    case 'SMS':
    case 'KAKAO_ALIMTALK':
      return E164_PATTERN.test(address);
    case 'PUSH':
      return address.length >= DEVICE_TOKEN_MIN_LENGTH && address.length <= DEVICE_TOKEN_MAX_LENGTH && !/\s/.test(address);
  }
}

/** Why an address is rejected, for a 400 that tells the caller what to fix. */
export function addressRule(channel: Channel): string {
  switch (channel) {
    case 'EMAIL':
      return 'must be an email address (local@domain.tld)';
    case 'SMS':
    case 'KAKAO_ALIMTALK':
      return 'must be an E.164 phone number (+ and 8-15 digits)';
    case 'PUSH':
      return `must be a device token of ${DEVICE_TOKEN_MIN_LENGTH}-${DEVICE_TOKEN_MAX_LENGTH} characters without spaces`;
  }
}
