import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from '@hub/config';
import { dispatcherConfigSchema } from './config.ts';

const base = { DATABASE_URL: 'postgres://localhost/hub', KAFKA_BROKERS: '127.0.0.1:9092' };

describe('dispatcher configuration', () => {
  it('runs mock vendors by default with the SPEC backoff and a 20-second lease', () => {
    const config = parseEnv(dispatcherConfigSchema('SMS'), base);
    expect(config).toMatchObject({
      VENDOR_MODE: 'mock',
      PORT: 9104,
      RETRY_BACKOFF_BASE_MS: 2_000,
      RETRY_BACKOFF_MAX_MS: 600_000,
      DISPATCH_LEASE_MS: 12_000,
      VENDOR_CALL_ATTEMPTS: 3,
    });
  });

  it('refuses a lease that cannot cover one vendor call, and a send-rate cap without Redis to share it', () => {
    expect(() => parseEnv(dispatcherConfigSchema('SMS'), { ...base, DISPATCH_LEASE_MS: '5000', VENDOR_TIMEOUT_MS: '5000' })).toThrow(/DISPATCH_LEASE_MS/);
    expect(() => parseEnv(dispatcherConfigSchema('SMS'), { ...base, VENDOR_RATE_PER_SECOND: '10' })).toThrow(/REDIS_URL/);
    expect(parseEnv(dispatcherConfigSchema('SMS'), { ...base, VENDOR_RATE_PER_SECOND: '10', REDIS_URL: 'redis://127.0.0.1:6379' })).toMatchObject({ VENDOR_RATE_PER_SECOND: 10 });
  });

  it('names every credential the channel needs when VENDOR_MODE=http', () => {
    let error: unknown;
    try {
      parseEnv(dispatcherConfigSchema('SMS'), { ...base, VENDOR_MODE: 'http', TWILIO_FROM: '+15005550006' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variables.sort()).toEqual(['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN']);
  });

  it('long-polls 3 s by default, and refuses a long poll the 6 s consumer session could not cover', () => {
    expect(parseEnv(dispatcherConfigSchema('PUSH'), base)).toMatchObject({ DISPATCH_FETCH_MAX_WAIT_MS: 3_000 });
    expect(parseEnv(dispatcherConfigSchema('PUSH'), { ...base, DISPATCH_FETCH_MAX_WAIT_MS: '1000' })).toMatchObject({ DISPATCH_FETCH_MAX_WAIT_MS: 1_000 });
    expect(() => parseEnv(dispatcherConfigSchema('PUSH'), { ...base, DISPATCH_FETCH_MAX_WAIT_MS: '5000' })).toThrow(/DISPATCH_FETCH_MAX_WAIT_MS/);
    expect(() => parseEnv(dispatcherConfigSchema('PUSH'), { ...base, DISPATCH_FETCH_MAX_WAIT_MS: '0' })).toThrow(/DISPATCH_FETCH_MAX_WAIT_MS/);
  });

  it('rejects a failure rate outside 0..1 by name', () => {
    expect(() => parseEnv(dispatcherConfigSchema('EMAIL'), { ...base, MOCK_VENDOR_TRANSIENT_RATE: '1.5' })).toThrow(/MOCK_VENDOR_TRANSIENT_RATE/);
  });
});
