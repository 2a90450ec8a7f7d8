import type { RequestHandler } from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { unauthorized } from '@hub/http';
import type { IngestConfig } from './config.ts';

/**
 * Bearer JWT check against INGEST_JWKS_URL (keys fetched and cached by jose, refreshed on an
 * unknown `kid`). Without the URL, callers are not authenticated (the default) and this is a
 * pass-through.
 */
export function callerAuth(config: Pick<IngestConfig, 'INGEST_JWKS_URL' | 'INGEST_JWT_ISSUER' | 'INGEST_JWT_AUDIENCE'>): RequestHandler {
  if (!config.INGEST_JWKS_URL) return (_req, _res, next) => next();
  const jwks = createRemoteJWKSet(new URL(config.INGEST_JWKS_URL), { timeoutDuration: 5_000 });
  return async (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
    if (!match) return next(unauthorized('UNAUTHORIZED', 'a Bearer token is required'));
    try {
      await jwtVerify(match[1]!, jwks, {
        ...(config.INGEST_JWT_ISSUER ? { issuer: config.INGEST_JWT_ISSUER } : {}),
        ...(config.INGEST_JWT_AUDIENCE ? { audience: config.INGEST_JWT_AUDIENCE } : {}),
      });
      next();
    } catch {
      next(unauthorized('UNAUTHORIZED', 'the Bearer token is invalid or expired'));
    }
  };
}
