import { createHmac, timingSafeEqual } from 'node:crypto';

/** The only kind a one-click link opts out of: the mandatory kinds cannot be (SPEC §1). */
export const UNSUBSCRIBE_KIND = 'MARKETING';

/** Day of issue, UTC, as the token carries it: links made on one day are one token. */
function issuedDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload).digest();
}

/**
 * A one-click unsubscribe token (RFC 8058 link, no login): base64url of
 * `{"r": recipientId, "k": "MARKETING", "d": "YYYY-MM-DD"}`, a dot, and the base64url
 * HMAC-SHA256 of that first part under the signing secret. The day bounds its life; the
 * recipient id inside is what it proves, so a token opts out only the recipient it was made for.
 */
export function signUnsubscribeToken(secret: string, input: { recipientId: string; issuedAt: Date }): string {
  const payload = Buffer.from(JSON.stringify({ r: input.recipientId, k: UNSUBSCRIBE_KIND, d: issuedDay(input.issuedAt) })).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

export type UnsubscribeTokenCheck =
  | { ok: true; recipientId: string; kind: typeof UNSUBSCRIBE_KIND }
  /** `malformed`/`forged`: not a token of ours; `expired`: ours, but older than the allowed age. */
  | { ok: false; reason: 'malformed' | 'forged' | 'expired' };

const DAY_MS = 86_400_000;

/**
 * Checks a token from `signUnsubscribeToken`: the signature first (constant time), then its
 * content, then its age: valid from its day of issue (one day of clock skew allowed) for
 * `maxAgeDays` days.
 */
export function verifyUnsubscribeToken(secret: string, token: string, input: { now: Date; maxAgeDays: number }): UnsubscribeTokenCheck {
  const parts = token.split('.');
  if (parts.length !== 2 || !/^[A-Za-z0-9_-]+$/.test(parts[0]!) || !/^[A-Za-z0-9_-]+$/.test(parts[1]!)) return { ok: false, reason: 'malformed' };
  const [payload, signature] = parts as [string, string];
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(secret, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'forged' };
  let content: unknown;
  try {
    content = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const { r, k, d } = (content ?? {}) as { r?: unknown; k?: unknown; d?: unknown };
  if (typeof r !== 'string' || r.length === 0 || k !== UNSUBSCRIBE_KIND || typeof d !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(d)) {
    return { ok: false, reason: 'malformed' };
  }
  const issued = Date.parse(`${d}T00:00:00Z`);
  if (Number.isNaN(issued)) return { ok: false, reason: 'malformed' };
  const age = input.now.getTime() - issued;
  if (age < -DAY_MS || age >= (input.maxAgeDays + 1) * DAY_MS) return { ok: false, reason: 'expired' };
  return { ok: true, recipientId: r, kind: UNSUBSCRIBE_KIND };
}

/** Path of the one-click unsubscribe endpoint on ingest-api (GET shows a page, POST opts out). */
export const UNSUBSCRIBE_PATH = '/api/v1/unsubscribe/:token';

/** The `List-Unsubscribe` URL of one token under the hub's public base URL. */
export function unsubscribeUrl(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}${UNSUBSCRIBE_PATH.replace(':token', token)}`;
}
