import type { z } from 'zod';
import { badRequest, fieldErrors } from '@hub/http';

/**
 * Parses one part of a request (`body`, `query`, `params`, `headers`) or throws a 400 whose
 * `errors` name each offending field as `<part>.<path>`.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, part: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw badRequest(`invalid ${part}`, { errors: fieldErrors(result.error, part) });
}
