import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Constant-time token check. Both sides are hashed first, so the comparison always runs over
 * 32 bytes and neither the token's length nor its prefix leaks through timing. No configured
 * token means nothing matches.
 */
export function tokenMatches(expected: string | undefined, given: string | undefined): boolean {
  if (!expected || given === undefined) return false;
  return timingSafeEqual(sha256(expected), sha256(given));
}

/** A stable audit name for whoever holds the token, without revealing it. */
export function actorOf(token: string | undefined, configuredActor: string | undefined): string {
  if (configuredActor) return configuredActor;
  if (!token) return 'admin:unknown';
  return `admin:${sha256(token).toString('hex').slice(0, 8)}`;
}
