import { describe, expect, it } from 'vitest';
import { clientIp } from './client-ip.ts';

describe('clientIp', () => {
  it('uses the socket address and ignores X-Forwarded-For when no proxy is trusted', () => {
    expect(clientIp('10.0.0.9', '1.2.3.4', 0)).toBe('10.0.0.9');
    expect(clientIp('::ffff:10.0.0.9', undefined, 0)).toBe('10.0.0.9');
  });

  it('takes the address the trusted proxy saw, not what the caller prepended', () => {
    // The caller sent "X-Forwarded-For: 6.6.6.6"; our one proxy appended the real peer.
    expect(clientIp('10.0.0.1', '6.6.6.6, 203.0.113.7', 1)).toBe('203.0.113.7');
    expect(clientIp('10.0.0.1', '6.6.6.6, 203.0.113.7, 10.0.0.2', 2)).toBe('203.0.113.7');
  });

  it('falls back to the leftmost entry when the chain is shorter than the trusted hops', () => {
    expect(clientIp('10.0.0.1', '203.0.113.7', 3)).toBe('203.0.113.7');
    expect(clientIp('10.0.0.1', ' , ', 1)).toBe('10.0.0.1');
  });
});
