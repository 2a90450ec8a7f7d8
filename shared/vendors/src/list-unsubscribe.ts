import { signUnsubscribeToken, unsubscribeUrl } from '@hub/domain';
import { VendorError, type VendorRequest } from './types.ts';

/** Where MARKETING mail points its one-click unsubscribe, and what it signs the link with. */
export interface ListUnsubscribeOptions {
  /** The hub's public base URL (ingest-api as mail clients reach it). */
  publicBaseUrl: string;
  /** HMAC-SHA256 key ingest-api verifies the link with (UNSUBSCRIBE_SIGNING_SECRET). */
  signingSecret: string;
  /** Optional mailbox for clients without one-click support (`mailto:` in List-Unsubscribe). */
  mailto?: string | undefined;
  clock?: () => Date;
}

/**
 * The RFC 8058 headers of one email: `List-Unsubscribe` with the signed https link (and the
 * mailto when given) and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, for MARKETING mail
 * only (the other kinds are mandatory or not bulk). Without options a MARKETING mail is refused
 * as permanent: bulk mail without one-click unsubscribe is what the large mailbox providers
 * junk or reject, and an unsubscribe the recipient cannot use is worse than none sent.
 */
export function listUnsubscribeHeaders(options: ListUnsubscribeOptions | undefined, request: VendorRequest): Record<string, string> {
  if (request.kind !== 'MARKETING') return {};
  if (!options || !request.recipientId) {
    throw new VendorError('permanent', 'MARKETING email needs PUBLIC_BASE_URL and UNSUBSCRIBE_SIGNING_SECRET (List-Unsubscribe, RFC 8058)');
  }
  const token = signUnsubscribeToken(options.signingSecret, { recipientId: request.recipientId, issuedAt: (options.clock ?? (() => new Date()))() });
  const links = [`<${unsubscribeUrl(options.publicBaseUrl, token)}>`];
  if (options.mailto) links.push(`<mailto:${options.mailto}?subject=unsubscribe>`);
  return { 'List-Unsubscribe': links.join(', '), 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
}
