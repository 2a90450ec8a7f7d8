import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from '@hub/config';
import { adminConfigSchema } from './config.ts';

const base = { DATABASE_URL: 'postgres://localhost/hub', REDIS_URL: 'redis://localhost:6379' };

describe('admin-api config', () => {
  it('defaults to deny-all, 60 requests per minute and no trusted proxy', () => {
    const config = parseEnv(adminConfigSchema, base);
    expect(config.ADMIN_AUTH_TOKEN).toBeUndefined();
    expect(config.ADMIN_RATE_LIMIT_PER_MINUTE).toBe(60);
    expect(config.TRUSTED_PROXY_HOPS).toBe(0);
    expect(config.PORT).toBe(8081);
  });

  it('treats an empty token as unset', () => {
    expect(parseEnv(adminConfigSchema, { ...base, ADMIN_AUTH_TOKEN: '' }).ADMIN_AUTH_TOKEN).toBeUndefined();
  });

  it('refuses a guessable token and a bad proxy hop count, naming the variable', () => {
    expect(() => parseEnv(adminConfigSchema, { ...base, ADMIN_AUTH_TOKEN: 'short' })).toThrow(/ADMIN_AUTH_TOKEN/);
    expect(() => parseEnv(adminConfigSchema, { ...base, TRUSTED_PROXY_HOPS: '-1' })).toThrow(ConfigError);
    expect(() => parseEnv(adminConfigSchema, { ...base, ADMIN_RATE_LIMIT_PER_MINUTE: '0' })).toThrow(/ADMIN_RATE_LIMIT_PER_MINUTE/);
  });

  it('accepts the development token the local scripts use', () => {
    expect(parseEnv(adminConfigSchema, { ...base, ADMIN_AUTH_TOKEN: 'dev-admin-token' }).ADMIN_AUTH_TOKEN).toBe('dev-admin-token');
  });
});
