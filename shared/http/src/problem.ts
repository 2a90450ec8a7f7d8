import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { AppError } from './errors.ts';
import { validationError } from './validation.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Body-parser errors carry `type`; map them to client errors instead of 500s. */
function bodyParserError(err: unknown): AppError | undefined {
  if (typeof err !== 'object' || err === null || !('type' in err)) return undefined;
  switch ((err as { type: unknown }).type) {
    case 'entity.too.large':
      return new AppError({ code: 'PAYLOAD_TOO_LARGE', status: 413, message: 'request body is too large' });
    case 'entity.parse.failed':
      return new AppError({ code: 'BAD_REQUEST', status: 400, message: 'request body is not valid JSON', details: { errors: [{ field: 'body', message: 'is not valid JSON' }] } });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError({ code: 'BAD_REQUEST', status: 415, message: 'unsupported body encoding' });
    case 'request.aborted':
      return new AppError({ code: 'BAD_REQUEST', status: 400, message: 'request aborted' });
    default:
      return undefined;
  }
}

/**
 * Client errors express raises itself, outside any handler (e.g. a path with broken
 * %-encoding: a URIError with status 400), are the caller's fault: answer 400, not 500. A path
 * parameter that does not decode (`%E0%A4%A`, or `%ED%A0%80`, an unpaired surrogate in UTF-8)
 * names the part: the router does not say which parameter it was decoding.
 */
function frameworkClientError(err: unknown): AppError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const status = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  if (err instanceof URIError) {
    return new AppError({
      code: 'BAD_REQUEST',
      status: 400,
      message: 'invalid params',
      details: { errors: [{ field: 'params', message: 'is not valid %-encoded UTF-8' }] },
      cause: err,
    });
  }
  return new AppError({ code: 'BAD_REQUEST', status: 400, message: 'malformed request', cause: err });
}

/**
 * The error middleware: AppError and zod errors become problem+json with their status; anything
 * else is logged and answered 500 INTERNAL_ERROR without internals (no stack, no SQL). Request
 * input is validated with `parseInput`, which names the request part; a ZodError reaching this
 * handler is a safety net and gets the same shape without the part (`invalid request`).
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const known =
      err instanceof AppError
        ? err
        : err instanceof ZodError
          ? validationError(err)
          : (bodyParserError(err) ?? frameworkClientError(err));
    const problem = known ?? new AppError({ code: 'INTERNAL_ERROR', status: 500, message: 'internal error' });
    if (!known) logger.error({ err, method: req.method, path: req.path }, 'unhandled request error');
    if (res.headersSent) return;
    for (const [name, value] of Object.entries(problem.headers ?? {})) res.setHeader(name, value);
    res
      .status(problem.status)
      .type(PROBLEM_CONTENT_TYPE)
      .json({
        type: 'about:blank',
        title: problem.code,
        status: problem.status,
        code: problem.code,
        message: problem.message,
        path: req.originalUrl.split('?')[0],
        timestamp: new Date().toISOString(),
        ...problem.details,
      });
  };
}

/** Final route: anything not matched is a problem+json 404. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError({ code: 'NOT_FOUND', status: 404, message: `no route for ${req.method} ${req.path}` }));
};

/** What Node's HTTP parser refuses, by its error code; anything else is a 400. */
const PARSER_ERRORS: Record<string, { status: number; reason: string; code: string; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: 'Request Header Fields Too Large', code: 'REQUEST_HEADER_FIELDS_TOO_LARGE', message: 'request headers are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'Request Timeout', code: 'REQUEST_TIMEOUT', message: 'request not received in time' },
};
const MALFORMED = { status: 400, reason: 'Bad Request', code: 'BAD_REQUEST', message: 'malformed HTTP request' };

/**
 * A listener for the HTTP server's `clientError`: requests Node's parser refuses before express
 * sees them (headers over `server.maxHeaderSize`, a control character in a header, a broken
 * request line) are answered with problem+json like every other error, instead of Node's bare
 * status line, and the connection is closed (the parser cannot continue on it).
 */
export function answerClientError(err: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const problem = PARSER_ERRORS[err.code ?? ''] ?? MALFORMED;
  const target = /^[A-Z]+ (\/[^ ?]*)/.exec(err.rawPacket?.toString('latin1') ?? '')?.[1];
  const body = JSON.stringify({
    type: 'about:blank',
    title: problem.code,
    status: problem.status,
    code: problem.code,
    message: problem.message,
    path: target ?? null,
    timestamp: new Date().toISOString(),
  });
  socket.end(
    `HTTP/1.1 ${problem.status} ${problem.reason}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
