import type { z } from 'zod';
import { badRequest, type AppError } from './errors.ts';

/** The part of a request an input comes from; it prefixes every field a 400 names. */
export type RequestPart = 'body' | 'query' | 'params' | 'headers';

/** One entry of a 400's `errors`. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * Flattens a zod error into `[{field, message}]`, with `field` as a dotted path after `prefix`;
 * an issue with an empty path names the prefix alone, or `(root)` without one.
 */
export function fieldErrors(error: z.ZodError, prefix?: string): FieldError[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return {
      field: [prefix, path].filter(Boolean).join('.') || '(root)',
      message: issue.message,
    };
  });
}

/**
 * The 400 BAD_REQUEST of a zod failure: message `invalid <part>` and `errors` naming each
 * offending field as `<part>.<path>` (`body.title`, `query.limit`, `params.attemptId`). An
 * issue about the part as a whole (an unrecognized key, a refinement without a path) names
 * the part alone (`query`). Without a part (an error that escaped `parseInput`) the message is
 * `invalid request` and the fields are unprefixed.
 */
export function validationError(error: z.ZodError, part?: RequestPart): AppError {
  return badRequest(`invalid ${part ?? 'request'}`, { errors: fieldErrors(error, part) });
}

/**
 * The one way an HTTP service validates request input: parses one part of a request with its
 * zod schema and returns the parsed value, or throws the 400 of `validationError`. Used for
 * every body, query string, path parameter and header a handler reads, so the same mistake
 * gets the same problem+json body from every service.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, part: RequestPart): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw validationError(result.error, part);
}
