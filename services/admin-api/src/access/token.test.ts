import { describe, expect, it } from 'vitest';
import { actorOf, tokenMatches } from './token.ts';

describe('tokenMatches', () => {
  it('accepts only the exact configured token', () => {
    expect(tokenMatches('s3cret-admin-token', 's3cret-admin-token')).toBe(true);
    expect(tokenMatches('s3cret-admin-token', 's3cret-admin-toke')).toBe(false);
    expect(tokenMatches('s3cret-admin-token', 's3cret-admin-token ')).toBe(false);
    expect(tokenMatches('s3cret-admin-token', '')).toBe(false);
    expect(tokenMatches('s3cret-admin-token', undefined)).toBe(false);
  });

  it('denies everything when no token is configured', () => {
    expect(tokenMatches(undefined, '')).toBe(false);
    expect(tokenMatches(undefined, 'anything')).toBe(false);
    expect(tokenMatches('', '')).toBe(false);
  });
});

describe('actorOf', () => {
  it('derives a stable name from the token without containing it', () => {
    const actor = actorOf('s3cret-admin-token', undefined);
    expect(actor).toMatch(/^admin:[0-9a-f]{8}$/);
    expect(actorOf('s3cret-admin-token', undefined)).toBe(actor);
    expect(actor).not.toContain('s3cret');
  });

  it('prefers the configured actor name', () => {
    expect(actorOf('s3cret-admin-token', 'oncall-bot')).toBe('oncall-bot');
  });
});
