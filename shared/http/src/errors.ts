/**
 * The one error type the HTTP edge turns into problem+json. `code` is stable and documented
 * (SPEC §3), `status` is the HTTP status; `details` become extra members of the body and
 * `headers` response headers (e.g. `Retry-After`, which is how a caller learns that the same
 * request may succeed later).
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(options: {
    code: string;
    status: number;
    message: string;
    details?: Record<string, unknown>;
    headers?: Record<string, string>;
    cause?: unknown;
  }) {
    // A client error (4xx) is an answer, not a fault: nothing logs where it was thrown, and
    // capturing a stack trace was ~1 % of ingest-api's CPU on the receipt path, where a fifth
    // of the requests are refused (npm run load -- callbacks). A 5xx keeps its trace.
    const traceLimit = Error.stackTraceLimit;
    if (options.status < 500) Error.stackTraceLimit = 0;
    super(options.message, { cause: options.cause });
    Error.stackTraceLimit = traceLimit;
    this.name = 'AppError';
    this.code = options.code;
    this.status = options.status;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new AppError({ code: 'BAD_REQUEST', status: 400, message, ...(details ? { details } : {}) });

export const notFound = (code: string, message: string) => new AppError({ code, status: 404, message });

export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError({ code, status: 409, message, ...(details ? { details } : {}) });

export const unauthorized = (code: string, message: string) =>
  new AppError({ code, status: 401, message });

/** A dependency (Redis, the JWKS) is down: 503 UNAVAILABLE with Retry-After, never a 500 (SPEC §3). */
export const unavailable = (message: string, cause?: unknown, retryAfterSeconds = 1) =>
  new AppError({ code: 'UNAVAILABLE', status: 503, message, headers: { 'Retry-After': String(retryAfterSeconds) }, cause });
