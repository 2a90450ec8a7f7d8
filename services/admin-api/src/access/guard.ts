import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { AppError, unavailable } from '@hub/http';
import type { AdminMetrics } from '../metrics.ts';
import { clientIp } from './client-ip.ts';
import type { AdminRateLimiter, RateDecision, Scope } from './rate-limit.ts';
import { tokenMatches } from './token.ts';

export interface GuardDeps {
  rateLimiter: AdminRateLimiter;
  logger: Logger;
  metrics: AdminMetrics;
  access: { token: string | undefined; trustedProxyHops: number };
}

/**
 * Rate limit first, then the token: a caller guessing tokens spends its budget like anyone
 * else, so brute force is throttled to the limit per minute. Redis being unreachable denies
 * the request (503) rather than letting unthrottled guesses through.
 */
export function guard(deps: GuardDeps, scope: Scope): RequestHandler {
  const log = deps.logger.child({ component: 'admin-guard' });
  return async (req, _res, next) => {
    const ip = clientIp(req.socket.remoteAddress, req.get('x-forwarded-for'), deps.access.trustedProxyHops);
    let decision: RateDecision;
    try {
      decision = await deps.rateLimiter.take(scope, ip);
    } catch (err) {
      log.error({ err, scope }, 'rate limiter unavailable, denying');
      next(unavailable('rate limiter unavailable', err));
      return;
    }
    if (!decision.allowed) {
      deps.metrics.accessDenied.inc({ reason: 'rate_limited' });
      log.warn({ ip, scope, path: req.path }, 'admin rate limit exceeded');
      const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      next(
        new AppError({
          code: 'RATE_LIMIT_EXCEEDED',
          status: 429,
          message: `too many ${scope} requests; retry in ${seconds} s`,
          headers: { 'Retry-After': String(seconds) },
          details: { retryAfterMillis: decision.retryAfterMs },
        }),
      );
      return;
    }
    if (!tokenMatches(deps.access.token, req.get('x-admin-token'))) {
      deps.metrics.accessDenied.inc({ reason: 'unauthorized' });
      log.warn({ ip, scope, path: req.path, tokenConfigured: Boolean(deps.access.token) }, 'admin token rejected');
      next(new AppError({ code: 'UNAUTHORIZED_ADMIN', status: 401, message: 'missing or invalid X-Admin-Token' }));
      return;
    }
    next();
  };
}
