import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from '@hub/config';
import { ingestConfigSchema } from './config.ts';

const base = { DATABASE_URL: 'postgres://localhost/hub', REDIS_URL: 'redis://localhost:6379' };

describe('ingest-api config', () => {
  it('has the SPEC defaults: limits per 60 s, 24 h idempotency, 1 MiB bodies, 300 s webhook window, no auth', () => {
    const config = parseEnv(ingestConfigSchema, base);
    expect(config).toMatchObject({
      PORT: 8080,
      RATE_LIMIT_PUSH: 30,
      RATE_LIMIT_EMAIL: 30,
      RATE_LIMIT_SMS: 5,
      RATE_LIMIT_KAKAO_ALIMTALK: 5,
      RATE_LIMIT_WINDOW_MS: 60_000,
      IDEMPOTENCY_TTL_SECONDS: 86_400,
      BODY_LIMIT_BYTES: 1_048_576,
      WEBHOOK_TOLERANCE_MS: 300_000,
      DEFAULT_LOCALE: 'ko-kr',
    });
    expect(config.INGEST_JWKS_URL).toBeUndefined();
    expect(config.WEBHOOK_SECRET_FCM).toBeUndefined();
  });

  it('treats an empty webhook secret as not configured (callbacks of that vendor are refused)', () => {
    expect(parseEnv(ingestConfigSchema, { ...base, WEBHOOK_SECRET_SES: '' }).WEBHOOK_SECRET_SES).toBeUndefined();
  });

  it.each([
    ['RATE_LIMIT_SMS', '0'],
    ['RATE_LIMIT_EMAIL', 'many'],
    ['INGEST_JWKS_URL', 'ftp://keys.example.com/jwks.json'],
    ['DEFAULT_LOCALE', 'korean'],
    ['WRITE_BATCH_MAX', '-1'],
  ])('names %s when it is %j', (variable, value) => {
    let error: unknown;
    try {
      parseEnv(ingestConfigSchema, { ...base, [variable]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variables).toContain(variable);
  });
});
