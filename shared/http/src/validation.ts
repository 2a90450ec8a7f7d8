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
 * A 400 lists at most this many fields: a body with 20,000 bad keys must not earn a response
 * a hundred times its size. The message says how many there were.
 */
export const MAX_FIELD_ERRORS = 20;

/** The message of a field whose text Postgres cannot store. */
export const UNSTORABLE_TEXT = 'contains a character that cannot be stored (U+0000 or an unpaired surrogate)';

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

/** The 400 of `errors` about one request part (or none), listing at most MAX_FIELD_ERRORS. */
function invalid(part: RequestPart | undefined, errors: FieldError[]): AppError {
  const message = `invalid ${part ?? 'request'}`;
  if (errors.length <= MAX_FIELD_ERRORS) return badRequest(message, { errors });
  return badRequest(`${message} (first ${MAX_FIELD_ERRORS} of ${errors.length} errors)`, { errors: errors.slice(0, MAX_FIELD_ERRORS) });
}

/**
 * The 400 BAD_REQUEST of a zod failure: message `invalid <part>` and `errors` naming each
 * offending field as `<part>.<path>` (`body.title`, `query.limit`, `params.attemptId`). An
 * issue about the part as a whole (an unrecognized key, a refinement without a path) names
 * the part alone (`query`). Without a part (an error that escaped `parseInput`) the message is
 * `invalid request` and the fields are unprefixed.
 */
export function validationError(error: z.ZodError, part?: RequestPart): AppError {
  return invalid(part, fieldErrors(error, part));
}

/**
 * Postgres text and jsonb cannot hold U+0000 (the statement fails), and an unpaired UTF-16
 * surrogate has no UTF-8 form (the statement fails, or U+FFFD is stored instead of the text).
 */
function storable(text: string): boolean {
  return text.isWellFormed() && !text.includes('\u0000');
}

/** A key as it may appear in a field name: what cannot be stored becomes U+FFFD. */
function printable(key: string): string {
  return key.replaceAll('\u0000', '\uFFFD').toWellFormed();
}

/**
 * Request input nests no deeper than this (objects and arrays): no schema of ours goes past
 * four, and a bound keeps every walk over untrusted input short.
 */
export const MAX_INPUT_DEPTH = 32;

/**
 * What no schema may accept, as field errors named `<prefix>.<path>`: a string (or object key)
 * Postgres cannot store, and nesting deeper than MAX_INPUT_DEPTH. Iterative: JSON.parse accepts
 * nesting far deeper than the call stack.
 */
export function inputProblems(value: unknown, prefix: string): FieldError[] {
  const errors: FieldError[] = [];
  const stack: Array<{ value: unknown; field: string; depth: number }> = [{ value, field: prefix, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, field, depth } = stack.pop()!;
    if (typeof current === 'string') {
      if (!storable(current)) errors.push({ field, message: UNSTORABLE_TEXT });
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (depth === MAX_INPUT_DEPTH) {
      errors.push({ field, message: `nests deeper than ${MAX_INPUT_DEPTH} levels` });
      continue;
    }
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], field: `${field}.${i}`, depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(current);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      const child = `${field}.${printable(key)}`;
      if (!storable(key)) errors.push({ field: child, message: `key ${UNSTORABLE_TEXT}` });
      stack.push({ value: (current as Record<string, unknown>)[key], field: child, depth: depth + 1 });
    }
  }
  return errors;
}

/**
 * The one way an HTTP service validates request input: parses one part of a request with its
 * zod schema and returns the parsed value, or throws the 400 of `validationError`. Used for
 * every body, query string, path parameter and header a handler reads, so the same mistake
 * gets the same problem+json body from every service.
 *
 * Before the schema, `inputProblems`: a field with text Postgres cannot store (U+0000, an
 * unpaired surrogate) or nested too deep is a 400 naming it (`body.title`, `params.id`),
 * whatever the schema says, so no route can reach the database with it and answer 500.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, part: RequestPart): z.infer<S> {
  const problems = inputProblems(value, part);
  if (problems.length > 0) throw invalid(part, problems);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw validationError(result.error, part);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The path (keys and indexes) of the first object key that appears twice in one object of a
 * JSON text, or undefined. JSON.parse keeps the last one silently, so `{"kind":"A","kind":"B"}`
 * means something else to every proxy, log or signature check that reads the first: refuse it.
 * Scans no deeper than MAX_INPUT_DEPTH (parseInput rejects deeper input anyway) and gives up
 * on text that is not JSON (the parser reports that).
 */
export function duplicateKeyPath(text: string): string[] | undefined {
  // One frame per open object or array: its name in the parent, and for an object the keys
  // seen so far and whether the next string is a key.
  const frames: Array<{ name: string; keys: Set<string> | undefined; key: string; index: number; expectKey: boolean }> = [];
  const nameInParent = () => {
    const parent = frames.at(-1);
    return parent === undefined ? '' : parent.keys ? parent.key : String(parent.index);
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (end >= text.length) return undefined;
      const frame = frames.at(-1);
      if (frame?.keys && frame.expectKey) {
        let key: string;
        try {
          key = JSON.parse(text.slice(i, end + 1)) as string;
        } catch {
          return undefined;
        }
        if (frame.keys.has(key)) return [...frames.slice(1).map((f) => f.name), key];
        frame.keys.add(key);
        frame.key = key;
        frame.expectKey = false;
      }
      i = end;
    } else if (c === '{' || c === '[') {
      if (frames.length === MAX_INPUT_DEPTH) return undefined;
      frames.push({ name: nameInParent(), keys: c === '{' ? new Set() : undefined, key: '', index: 0, expectKey: c === '{' });
    } else if (c === '}' || c === ']') {
      frames.pop();
    } else if (c === ',') {
      const frame = frames.at(-1);
      if (frame?.keys) frame.expectKey = true;
      else if (frame) frame.index += 1;
    }
  }
  return undefined;
}

/**
 * The checks of a JSON body that need its bytes, before it is parsed: valid UTF-8 (a decoder
 * would replace a bad byte with U+FFFD and store text the caller never sent) and no key twice
 * in one object. Throws a 400 naming `body` or the repeated key (`body.payload.code`).
 */
export function checkJsonBytes(raw: Uint8Array): string {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw badRequest('request body is not valid UTF-8', { errors: [{ field: 'body', message: 'is not valid UTF-8' }] });
  }
  const duplicate = duplicateKeyPath(text);
  if (duplicate) {
    throw badRequest('invalid body', { errors: [{ field: ['body', ...duplicate.map(printable)].join('.'), message: 'duplicate key' }] });
  }
  return text;
}

/**
 * `verify` for express.json: the body-parser path gets the checks of `checkJsonBytes` (its own
 * decoder replaces invalid UTF-8 silently and JSON.parse keeps the last of duplicate keys).
 * The 400 it throws reaches the problem handler unchanged.
 */
export function verifyJsonBody(_req: unknown, _res: unknown, raw: Buffer): void {
  checkJsonBytes(raw);
}

/** A raw JSON body (a route that needs its bytes, e.g. to check a signature) parsed with the checks of `checkJsonBytes`. */
export function parseJsonBody(raw: Uint8Array): unknown {
  const text = checkJsonBytes(raw);
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('request body is not valid JSON', { errors: [{ field: 'body', message: 'is not valid JSON' }] });
  }
}
