import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from '@hub/config';
import { callerFromClaims } from './auth.ts';
import { ingestConfigSchema } from './config.ts';

const base = { DATABASE_URL: 'postgres://localhost/hub', REDIS_URL: 'redis://localhost:6379' };
const JWKS = 'https://login.example.com/.well-known/jwks.json';

function refusal(env: Record<string, string>): ConfigError {
  let error: unknown;
  try {
    parseEnv(ingestConfigSchema, { ...base, ...env });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('caller authentication settings', () => {
  it('refuses an issuer without an audience, naming INGEST_JWT_AUDIENCE', () => {
    const error = refusal({ INGEST_JWKS_URL: JWKS, INGEST_JWT_ISSUER: 'https://login.example.com/' });
    expect(error.variables).toEqual(['INGEST_JWT_AUDIENCE']);
    expect(error.message).toMatch(/INGEST_JWT_AUDIENCE: .*INGEST_JWT_ISSUER/);
  });

  it.each([['INGEST_JWT_ISSUER'], ['INGEST_JWT_AUDIENCE']])('refuses %s without INGEST_JWKS_URL (it would silently check nothing)', (variable) => {
    expect(refusal({ INGEST_JWT_ISSUER: 'https://login.example.com/', INGEST_JWT_AUDIENCE: 'hub', [variable]: 'x' }).variables).toContain('INGEST_JWKS_URL');
  });

  it('accepts a JWKS with issuer and audience, or a JWKS alone; empty values are unset', () => {
    expect(parseEnv(ingestConfigSchema, { ...base, INGEST_JWKS_URL: JWKS, INGEST_JWT_ISSUER: 'https://login.example.com/', INGEST_JWT_AUDIENCE: 'hub' })).toMatchObject({
      INGEST_JWT_ISSUER: 'https://login.example.com/',
      INGEST_JWT_AUDIENCE: 'hub',
      INGEST_JWKS_TIMEOUT_MS: 5_000,
    });
    const alone = parseEnv(ingestConfigSchema, { ...base, INGEST_JWKS_URL: JWKS, INGEST_JWT_ISSUER: '', INGEST_JWT_AUDIENCE: '' });
    expect(alone.INGEST_JWT_ISSUER).toBeUndefined();
    expect(alone.INGEST_JWT_AUDIENCE).toBeUndefined();
    expect(parseEnv(ingestConfigSchema, { ...base, INGEST_JWT_ISSUER: '', INGEST_JWT_AUDIENCE: '' }).INGEST_JWKS_URL).toBeUndefined();
  });

  it('names INGEST_JWKS_TIMEOUT_MS when it is not a positive integer', () => {
    expect(refusal({ INGEST_JWKS_URL: JWKS, INGEST_JWKS_TIMEOUT_MS: '0' }).variables).toEqual(['INGEST_JWKS_TIMEOUT_MS']);
  });
});

describe('callerFromClaims', () => {
  it('makes a token without recipient_id a service caller named by its sub', () => {
    expect(callerFromClaims({ sub: 'billing-service' })).toEqual({ kind: 'service', sub: 'billing-service' });
  });

  it('makes a token with recipient_id a caller limited to that recipient (trimmed, as recipient ids are)', () => {
    expect(callerFromClaims({ sub: 'auth0|42', recipient_id: ' user-42 ' })).toEqual({ kind: 'recipient', sub: 'auth0|42', recipientId: 'user-42' });
  });

  it.each([
    ['no sub', {}],
    ['an empty sub', { sub: '' }],
    ['a numeric recipient_id', { sub: 's', recipient_id: 42 }],
    ['a blank recipient_id', { sub: 's', recipient_id: '   ' }],
    ['an over-long recipient_id', { sub: 's', recipient_id: 'r'.repeat(129) }],
    ['a null recipient_id', { sub: 's', recipient_id: null }],
  ])('refuses a token with %s', (_name, claims) => {
    expect(callerFromClaims(claims)).toBeUndefined();
  });
});
