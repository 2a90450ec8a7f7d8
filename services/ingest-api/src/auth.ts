import type { RequestHandler, Response } from 'express';
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Logger } from 'pino';
import { AppError, unauthorized, unavailable } from '@hub/http';
import type { IngestConfig } from './config.ts';
import { recipientId } from './schemas.ts';

/**
 * Who is calling (ADR 0021). `anyone` when authentication is off: every route behaves as it
 * always did. With it on, the token's `sub` is the caller: a `service` sees the recipients and
 * notifications it created; a `recipient` token (claim `recipient_id`) sees only that recipient.
 */
export type Caller = { kind: 'anyone' } | { kind: 'service'; sub: string } | { kind: 'recipient'; sub: string; recipientId: string };

const ANYONE: Caller = { kind: 'anyone' };

/** The claim that limits a token to one recipient (an end user's app acting for itself). */
export const RECIPIENT_CLAIM = 'recipient_id';

/** How long a caller should wait before retrying while the JWKS cannot be fetched. */
const JWKS_RETRY_AFTER_SECONDS = 5;

/** The caller of a verified token, or undefined when its claims name none or a malformed one. */
export function callerFromClaims(claims: JWTPayload): Caller | undefined {
  if (typeof claims.sub !== 'string' || claims.sub.length === 0) return undefined;
  if (!(RECIPIENT_CLAIM in claims)) return { kind: 'service', sub: claims.sub };
  const scoped = recipientId.safeParse(claims[RECIPIENT_CLAIM]);
  return scoped.success ? { kind: 'recipient', sub: claims.sub, recipientId: scoped.data } : undefined;
}

/** The caller callerAuth found for this request. */
export function callerOf(res: Response): Caller {
  const caller = res.locals.caller as Caller | undefined;
  // callerAuth runs before every API route; a route without a caller is a wiring mistake, and
  // must fail rather than fall back to "anyone".
  if (!caller) throw new Error('callerAuth did not run before this route');
  return caller;
}

/** Routes that act for the deployment (sending, templates) are not open to a recipient's own token. */
export function requireServiceCaller(caller: Caller, action: string): void {
  if (caller.kind === 'recipient') throw new AppError({ code: 'FORBIDDEN', status: 403, message: `a recipient-scoped token may not ${action}` });
}

/** Raised by our fetch of the JWKS when the request itself failed (refused, reset, DNS, timeout). */
class JwksUnreachable extends Error {
  override readonly name = 'JwksUnreachable';
}

/**
 * A failure to obtain the key set rather than a fault of the token: jose throws its generic
 * JOSEError only for a non-200 or non-JSON JWKS response, JWKSInvalid for a malformed key set,
 * JWKSTimeout for a body that did not arrive in time; our fetch wrapper tags everything else.
 */
function keySetUnavailable(err: unknown): boolean {
  if (err instanceof JwksUnreachable || err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return true;
  return err instanceof errors.JOSEError && err.code === errors.JOSEError.code;
}

/**
 * Bearer JWT check against INGEST_JWKS_URL (keys fetched and cached by jose, refreshed on an
 * unknown `kid`), with the issuer and audience when configured. Sets the request's caller; a
 * token that is invalid, expired, for another audience or names no caller is a 401, a JWKS
 * that cannot be fetched a 503 (the token may be fine: the caller should retry, not re-login).
 * Without the URL, callers are not authenticated (the default) and every request is `anyone`.
 */
export function callerAuth(
  config: Pick<IngestConfig, 'INGEST_JWKS_URL' | 'INGEST_JWT_ISSUER' | 'INGEST_JWT_AUDIENCE' | 'INGEST_JWKS_TIMEOUT_MS'>,
  logger: Logger,
): RequestHandler {
  if (!config.INGEST_JWKS_URL) {
    return (_req, res, next) => {
      res.locals.caller = ANYONE;
      next();
    };
  }
  const jwks = createRemoteJWKSet(new URL(config.INGEST_JWKS_URL), {
    timeoutDuration: config.INGEST_JWKS_TIMEOUT_MS,
    [customFetch]: (url, options) =>
      fetch(url, options).catch((cause: unknown) => {
        throw new JwksUnreachable('the JWKS could not be fetched', { cause });
      }),
  });
  const expected = {
    ...(config.INGEST_JWT_ISSUER ? { issuer: config.INGEST_JWT_ISSUER } : {}),
    ...(config.INGEST_JWT_AUDIENCE ? { audience: config.INGEST_JWT_AUDIENCE } : {}),
    requiredClaims: ['sub'],
  };
  return async (req, res, next) => {
    const match = /^Bearer +([A-Za-z0-9._~+/=-]+)$/i.exec(req.get('authorization') ?? '');
    if (!match) return next(unauthorized('UNAUTHORIZED', 'a Bearer token is required'));
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(match[1]!, jwks, expected));
    } catch (err) {
      if (keySetUnavailable(err)) {
        logger.warn({ err }, 'JWKS unavailable: caller tokens cannot be verified');
        return next(unavailable('caller tokens cannot be verified right now (the signing keys are unreachable)', err, JWKS_RETRY_AFTER_SECONDS));
      }
      if (err instanceof errors.JOSEError) return next(unauthorized('UNAUTHORIZED', 'the Bearer token is invalid or expired'));
      return next(err);
    }
    const caller = callerFromClaims(claims);
    if (!caller) return next(unauthorized('UNAUTHORIZED', `the Bearer token names no caller (sub) or a malformed ${RECIPIENT_CLAIM}`));
    res.locals.caller = caller;
    next();
  };
}
