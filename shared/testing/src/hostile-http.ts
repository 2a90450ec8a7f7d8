import { connect, type Socket } from 'node:net';
import { parse as parseQueryString } from 'node:querystring';
import fc from 'fast-check';
import type postgres from 'postgres';
import type { z } from 'zod';

// The hostile-input suites (services/*/test/hostile-input.int.test.ts): requests that are valid in
// shape and hostile in content, written byte for byte (an HTTP client library refuses to send
// most of them: invalid UTF-8, control bytes, oversized headers), and what the API must answer.
// Every request starts from a valid one (which the API would accept, writing rows), with one
// part made hostile, so a hostility the API failed to notice shows as a 2xx or a new row.

// ---------------------------------------------------------------------------------------------
// HTTP on the wire.

export interface RawResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: Buffer;
}

/** The bytes of one HTTP/1.1 request; `body` is sent as is, with its Content-Length. */
export function rawRequest(input: { method: string; path: string; headers?: Record<string, string>; body?: Buffer | string }): Buffer {
  const body = typeof input.body === 'string' ? Buffer.from(input.body) : (input.body ?? Buffer.alloc(0));
  const lines = [`${input.method} ${input.path} HTTP/1.1`, 'Host: hostile.test'];
  for (const [name, value] of Object.entries(input.headers ?? {})) lines.push(`${name}: ${value}`);
  if (body.length > 0 || input.method !== 'GET') lines.push(`Content-Length: ${body.length}`);
  // UTF-8, as clients send it (Node reads header bytes as latin1); a control character is its own byte.
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), body]);
}

/** A request as a failure message shows it: printable, long runs and the body cut short. */
export function describeRequest(request: Buffer): string {
  const text = request.toString('latin1').replace(/[^\x20-\x7e\r\n]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return text
    .replace(/(.)\1{40,}/g, (run, c: string) => `${c.repeat(8)}…(${run.length}×)`)
    .replace(/(.{2000}).+/s, '$1…')
    .replace(/\r\n/g, '\n');
}

/**
 * One keep-alive HTTP/1.1 connection, one request at a time; reconnects after the server
 * closed it (e.g. after a 431). Fast enough for 100,000 requests in-process, and it sends
 * exactly the bytes it is given.
 */
export class RawHttpClient {
  private socket: Socket | undefined;
  private buffer = Buffer.alloc(0);
  private closed = true;
  private waiting: (() => void) | undefined;
  private readonly port: number;

  constructor(port: number) {
    this.port = port;
  }

  async send(request: Buffer): Promise<RawResponse> {
    for (let attempt = 0; ; attempt++) {
      // A kept-alive connection the server closed meanwhile fails before any byte of an answer:
      // send once more on a fresh one.
      const reused = !this.closed;
      if (this.closed) await this.connect();
      this.socket!.write(request);
      for (;;) {
        const response = this.parse();
        if (response) return response;
        if (this.closed) break;
        await new Promise<void>((resolve) => (this.waiting = resolve));
      }
      if (!(reused && attempt === 0 && this.buffer.length === 0)) {
        throw new Error(`connection closed before a complete response (${this.buffer.length} bytes received)`);
      }
    }
  }

  close(): void {
    this.socket?.destroy();
  }

  private connect(): Promise<void> {
    this.buffer = Buffer.alloc(0);
    return new Promise((resolve, reject) => {
      const socket = connect(this.port, '127.0.0.1', () => {
        this.closed = false;
        resolve();
      });
      socket.setNoDelay(true);
      socket.on('data', (chunk) => {
        this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
        this.wake();
      });
      const end = () => {
        this.closed = true;
        this.wake();
      };
      socket.on('end', end);
      socket.on('close', end);
      socket.on('error', (err) => {
        end();
        reject(err);
      });
      this.socket = socket;
    });
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  /** A complete response at the head of the buffer (removed from it), or undefined. */
  private parse(): RawResponse | undefined {
    const headEnd = this.buffer.indexOf('\r\n\r\n');
    if (headEnd < 0) return undefined;
    const [statusLine, ...lines] = this.buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(statusLine!.split(' ')[1]);
    const length = headers['content-length'];
    if (length === undefined) {
      // No length: the body runs to the end of the connection (Node's own bare answers).
      if (!this.closed && status !== 204 && status !== 304) return undefined;
      const body = this.buffer.subarray(headEnd + 4);
      this.buffer = Buffer.alloc(0);
      return { status, headers, body };
    }
    const end = headEnd + 4 + Number(length);
    if (this.buffer.length < end) return undefined;
    const body = this.buffer.subarray(headEnd + 4, end);
    this.buffer = this.buffer.subarray(end);
    if (headers.connection?.toLowerCase() === 'close') {
      this.socket?.destroy();
      this.closed = true;
    }
    return { status, headers, body };
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile values.

/** Byte sequences that are not UTF-8: a lone continuation byte, a truncated sequence, an encoded surrogate, an overlong '/', 0xFF, a 5-byte form. */
export const INVALID_UTF8: readonly Buffer[] = [[0x80], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xff], [0xf8, 0x88, 0x80, 0x80, 0x80]].map((b) => Buffer.from(b));

/** The same, %-encoded for a path or a query string. */
export const INVALID_UTF8_ESCAPES: readonly string[] = INVALID_UTF8.map((b) => [...b].map((x) => `%${x.toString(16).toUpperCase().padStart(2, '0')}`).join(''));

/** Text Postgres cannot store: U+0000, and unpaired surrogates (high, low, a reversed pair). */
export const UNSTORABLE: readonly string[] = ['\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '\udc00\ud800'];

/** `text` with `insert` at a generated position. */
export const insertedInto = (text: string, insert: fc.Arbitrary<string>) =>
  fc.tuple(fc.nat({ max: text.length }), insert).map(([at, what]) => `${text.slice(0, at)}${what}${text.slice(at)}`);

/** `text` with a character Postgres cannot store in it. */
export const unstorableIn = (text: string) => insertedInto(text, fc.constantFrom(...UNSTORABLE));

/** A 10,000-character string of one generated character (too long for every short field). */
export const tenThousand = fc.constantFrom('a', 'Z', '9', ' ', 'é', '한', '😀', '"', '\\', '%', '\u200b').map((c) => c.repeat(10_000 / c.length));

/** 10,000 characters that stay 10,000 bytes in a URL. */
export const tenThousandUrl = fc.constantFrom('a', 'Z', '9', '-', '_', '.', '~').map((c) => c.repeat(10_000));

/**
 * A misspelling of one of `values` that is none of them, also after trim and case folding:
 * a character dropped, doubled, replaced or swapped, a homoglyph, a stray character.
 */
export function misspelled(values: readonly string[]): fc.Arbitrary<string> {
  const taken = new Set(values.map((v) => v.trim().toLowerCase()));
  return fc
    .tuple(fc.constantFrom(...values), fc.nat(), fc.constantFrom('drop', 'double', 'replace', 'swap', 'homoglyph', 'stray'), fc.constantFrom('x', 'Q', '_', '-', '0', '.', 'А', 'Ε', 'ı'))
    .map(([value, n, edit, c]) => {
      const at = n % value.length;
      switch (edit) {
        case 'drop':
          return value.slice(0, at) + value.slice(at + 1);
        case 'double':
          return value.slice(0, at) + value[at] + value.slice(at);
        case 'replace':
          return value.slice(0, at) + c + value.slice(at + 1);
        case 'swap':
          return at + 1 < value.length ? value.slice(0, at) + value[at + 1] + value[at] + value.slice(at + 2) : `${value}${c}`;
        case 'homoglyph':
          return value.replace(/[AEOIaeoi]/, (m) => ({ A: 'А', E: 'Е', O: 'О', I: 'І', a: 'а', e: 'е', o: 'о', i: 'і' })[m]!);
        default:
          return value.slice(0, at) + c + value.slice(at);
      }
    })
    .filter((v) => !taken.has(v.trim().toLowerCase()));
}

/** A raw JSON fragment: how a hostile value JSON.stringify cannot express travels inside a body. */
export class RawJson {
  readonly bytes: Buffer;
  constructor(bytes: Buffer | string) {
    this.bytes = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  }
}

/** JSON nested 40 to 20,000 levels deep, as text (JSON.stringify would recurse). */
export const deeplyNested = fc
  .tuple(fc.integer({ min: 40, max: 20_000 }), fc.boolean())
  .map(([depth, objects]) => new RawJson(objects ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}${']'.repeat(depth)}`));

/** A JSON object with 20,000 keys (built once: 200 kB each). */
export const twentyThousandKeys = fc.constantFrom(...['1', '"v"', 'null'].map((value) => new RawJson(`{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":${value}`).join(',')}}`)));

/** A JSON string with invalid UTF-8 bytes somewhere in `text` (ASCII). */
export const withInvalidUtf8 = (text: string) =>
  fc.tuple(fc.nat({ max: text.length }), fc.constantFrom(...INVALID_UTF8)).map(([at, bytes]) => new RawJson(Buffer.concat([Buffer.from(`"${text.slice(0, at)}`), bytes, Buffer.from(`${text.slice(at)}"`)])));

/**
 * A JSON body as bytes: `value` serialized, with every RawJson inside it written as its raw
 * bytes (invalid UTF-8, 20,000 keys, deep nesting, a key written twice…).
 */
export function jsonBytes(value: unknown): Buffer {
  const raws: Buffer[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof RawJson) {
      raws.push(v.bytes);
      return `\u0001raw${raws.length - 1}\u0001`;
    }
    return v;
  });
  if (raws.length === 0) return Buffer.from(text);
  const parts: Buffer[] = [];
  let last = 0;
  for (const match of text.matchAll(/"\\u0001raw(\d+)\\u0001"/g)) {
    parts.push(Buffer.from(text.slice(last, match.index)), raws[Number(match[1])]!);
    last = match.index + match[0].length;
  }
  parts.push(Buffer.from(text.slice(last)));
  return Buffer.concat(parts);
}

// The big ones are rarer: each costs the time of a few dozen small ones.
const wrongTypes = fc.oneof(
  { weight: 6, arbitrary: fc.integer() },
  { weight: 6, arbitrary: fc.double({ noDefaultInfinity: true, noNaN: true }) },
  { weight: 6, arbitrary: fc.boolean() },
  { weight: 6, arbitrary: fc.constant(null) },
  { weight: 6, arbitrary: fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }) },
  { weight: 6, arbitrary: fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }) },
  { weight: 2, arbitrary: deeplyNested },
  { weight: 1, arbitrary: twentyThousandKeys },
);

/** What a body field holds, which decides how it can be made hostile. */
export type FieldKind =
  /** Free text: anything storable of the right length is valid (so U+FFFD from invalid UTF-8 is too). */
  | { type: 'text' }
  /** Bound by a pattern, a list or a format: U+FFFD from invalid UTF-8 is invalid too. */
  | { type: 'strict' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'bool' }
  /** A string → string map (template variables) with limits on keys and total size. */
  | { type: 'map'; maxKeys: number; maxBytes: number; maxValue: number }
  | { type: 'array' };

interface Hostile {
  value: unknown;
  /** The value carries invalid UTF-8: a 400 may name the whole body. */
  utf8?: boolean;
}

function hostileValue(kind: FieldKind, valid: unknown): fc.Arbitrary<Hostile> {
  const text = typeof valid === 'string' ? valid : 'x';
  const plain = (a: fc.Arbitrary<unknown>) => a.map((value) => ({ value }));
  const asString: Array<fc.Arbitrary<Hostile>> = [plain(unstorableIn(text)), plain(tenThousand), plain(wrongTypes.filter((v) => typeof v !== 'string'))];
  switch (kind.type) {
    case 'text':
      return fc.oneof(...asString);
    case 'strict':
      return fc.oneof(...asString, withInvalidUtf8(text).map((value) => ({ value, utf8: true })), plain(fc.string({ maxLength: 12 })));
    case 'enum':
      return fc.oneof(...asString, plain(misspelled(kind.values)), withInvalidUtf8(kind.values[0]!).map((value) => ({ value, utf8: true })));
    case 'bool':
      return fc.oneof(
        { weight: 8, arbitrary: plain(fc.constantFrom('true', 'false', 'yes', 1, 0, null, [], {}, 'TRUE')) },
        { weight: 2, arbitrary: withInvalidUtf8('true').map((value) => ({ value, utf8: true })) },
        { weight: 1, arbitrary: plain(deeplyNested) },
        { weight: 1, arbitrary: plain(twentyThousandKeys) },
      );
    case 'map': {
      const over = Math.floor(kind.maxBytes / kind.maxValue) + 1;
      return fc.oneof(
        { weight: 1, arbitrary: plain(twentyThousandKeys) },
        { weight: 2, arbitrary: plain(deeplyNested) },
        { weight: 4, arbitrary: plain(unstorableIn('value').map((value) => ({ name: value }))) },
        { weight: 4, arbitrary: plain(unstorableIn('name').map((key) => ({ [key]: 'v' }))) },
        // Within every per-value limit, over the total; over the key count.
        { weight: 2, arbitrary: plain(fc.integer({ min: over, max: over + 20 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v'.repeat(kind.maxValue)])))) },
        { weight: 2, arbitrary: plain(fc.integer({ min: kind.maxKeys + 1, max: 5_000 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v'])))) },
        { weight: 4, arbitrary: plain(fc.oneof(fc.integer(), fc.string(), fc.array(fc.string()), fc.constant(null))) },
      );
    }
    case 'array':
      return fc.oneof(
        { weight: 2, arbitrary: plain(fc.integer({ min: 21, max: 20_000 }).map((n) => new RawJson(`[${Array(n).fill('{}').join(',')}]`))) },
        { weight: 1, arbitrary: plain(deeplyNested) },
        { weight: 1, arbitrary: plain(twentyThousandKeys) },
        { weight: 8, arbitrary: plain(fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.constant({}))) },
      );
  }
}

// ---------------------------------------------------------------------------------------------
// What the API must accept: checked here independently of the code under test.

const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

const storable = (text: string) => !text.includes('\u0000') && text.isWellFormed();

/** Would the API accept this input? Text Postgres cannot store or nesting over 32 levels is refused whatever the schema says. */
export function accepted(schema: z.ZodType, value: unknown): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: node, depth } = stack.pop()!;
    if (typeof node === 'string' && !storable(node)) return false;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= 32) return false;
    for (const [key, child] of Object.entries(node)) {
      if (!storable(key)) return false;
      stack.push({ value: child, depth: depth + 1 });
    }
  }
  return schema.safeParse(value).success;
}

// ---------------------------------------------------------------------------------------------
// Requests of one endpoint.

/** One generated request and what it must get. */
export interface Case {
  request: Buffer;
  /** Acceptable statuses. */
  status: readonly number[];
  /** A 400 must name this field (or one under it), or one of `alt`. */
  field?: string;
  alt?: readonly string[];
  /** Refused by Node's HTTP parser before the app: Node may answer with a bare status line. */
  parser?: boolean;
}

type Path = Array<string | number>;

export interface Endpoint {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path, given its parameter already encoded. */
  path: (param: string) => string;
  /**
   * The path parameter: a valid value, the field a bad one is named as, and words that would
   * select another route (`/dlq/search` is not an attempt id).
   */
  param?: { valid: string; field: string; kind: 'text' | 'uuid'; reserved?: readonly string[] };
  query?: { valid: Record<string, string>; schema: z.ZodType; fields: Record<string, 'text' | 'strict' | readonly string[]> };
  body?: { valid: Record<string, unknown>; schema: z.ZodType; fields: Array<{ path: Path; kind: FieldKind }> };
  /** Headers every request carries (e.g. the admin token), made per request. */
  headers?: () => Record<string, string>;
  /** Hostile headers this endpoint reads itself (Idempotency-Key, X-Admin-Token) and what they get. */
  hostileHeaders?: fc.Arbitrary<{ headers: Record<string, string>; status: readonly number[]; field?: string }>;
  /** Final headers from the finished request (a vendor's signature). */
  sign?: (input: { param: string; body: Buffer }) => Record<string, string>;
  /** Statuses where a route answers before validating what is hostile (DELETE /dlq/{id}: always 405). */
  statuses?: readonly number[];
  wrongContentType?: WrongContentType;
}

/**
 * What a JSON body sent with another Content-Type gets: 'parsed' (parsed as JSON anyway, so the
 * hostile field still decides), or a fixed outcome when the route ignores such a body (with the
 * parameter to send, so that the outcome is not a 2xx), or null: leave wrong types out.
 */
export type WrongContentType = 'parsed' | { status: readonly number[]; field?: string; param?: string } | null;

export interface ServiceBodyRules {
  /** Bodies over this are a 413 before they are parsed. */
  bodyLimitBytes: number;
  /** The service's default; an endpoint may say otherwise. */
  wrongContentType: WrongContentType;
}

const valueAt = (base: unknown, path: Path): unknown => path.reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], base);

function setAt(base: unknown, path: Path, value: unknown): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
  return copy;
}

const MARK = '\u0001mark\u0001';

/** A body with one field made hostile; one in ten times its key written twice, a valid value first (JSON.parse keeps the last). */
function hostileBody(spec: NonNullable<Endpoint['body']>): fc.Arbitrary<{ body: Buffer; field: string; utf8: boolean; duplicated: boolean }> {
  return fc
    .constantFrom(...spec.fields)
    .chain((field) => fc.tuple(fc.constant(field), hostileValue(field.kind, valueAt(spec.valid, field.path)), fc.nat(9)))
    .map(([field, hostile, dice]) => {
      const last = field.path.at(-1)!;
      const validHere = valueAt(spec.valid, field.path);
      let body: Buffer;
      const duplicated = dice === 0 && typeof last === 'string' && validHere !== undefined;
      if (duplicated && typeof last === 'string' && validHere !== undefined) {
        const text = JSON.stringify(setAt(spec.valid, field.path, MARK));
        const at = text.indexOf(JSON.stringify(MARK));
        body = Buffer.concat([
          Buffer.from(`${text.slice(0, at)}${JSON.stringify(validHere)},${JSON.stringify(last)}:`),
          jsonBytes(hostile.value),
          Buffer.from(text.slice(at + JSON.stringify(MARK).length)),
        ]);
      } else {
        body = jsonBytes(setAt(spec.valid, field.path, hostile.value));
      }
      return { body, field: ['body', ...field.path].join('.'), utf8: hostile.utf8 ?? false, duplicated };
    })
    .filter(({ body, utf8 }) => {
      if (utf8) return true;
      try {
        return !accepted(spec.schema, JSON.parse(body.toString()));
      } catch {
        return true;
      }
    });
}

/** A path or query value, %-encoded; a lone surrogate travels as its (invalid) UTF-8 bytes. */
function urlEncode(value: string): string {
  return value
    .split(/[\ud800-\udfff]/)
    .map(encodeURIComponent)
    .join('%ED%A0%80');
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A hostile path parameter, the field a 400 names and the alternatives. */
function hostileParam(param: NonNullable<Endpoint['param']>): fc.Arbitrary<{ encoded: string; decoded: string; field: string; alt: string[] }> {
  const { valid, field, kind } = param;
  const candidates: Array<fc.Arbitrary<string>> = [unstorableIn(valid), tenThousandUrl];
  if (kind === 'uuid') candidates.push(fc.string({ minLength: 1, maxLength: 40 }), misspelled([valid]));
  const decodedBad = fc
    .oneof(...candidates)
    // Express matches routes case-insensitively: `ME` is the route `me`, not a bad id.
    .filter((v) => (kind === 'uuid' ? !UUID_PATTERN.test(v) && !param.reserved?.some((r) => r.toLowerCase() === v.toLowerCase()) : v.trim().length > 128 || !storable(v)))
    .map((decoded) => ({ encoded: urlEncode(decoded), decoded, field, alt: ['params'] }));
  // %-escapes that are not UTF-8: the router cannot decode the parameter at all.
  const undecodable = fc.tuple(fc.nat({ max: valid.length }), fc.constantFrom(...INVALID_UTF8_ESCAPES)).map(([at, escape]) => ({
    encoded: `${encodeURIComponent(valid.slice(0, at))}${escape}${encodeURIComponent(valid.slice(at))}`,
    decoded: valid,
    field: 'params',
    alt: [],
  }));
  return fc.oneof(decodedBad, undecodable);
}

/** A hostile query string: one parameter bad (or repeated), the others valid. */
function hostileQuery(query: NonNullable<Endpoint['query']>): fc.Arbitrary<{ query: string; field: string }> {
  const encode = (q: Record<string, string>) =>
    Object.entries(q)
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
  const validEncoded = Object.fromEntries(Object.entries(query.valid).map(([k, v]) => [k, encodeURIComponent(v)]));
  return fc
    .constantFrom(...Object.keys(query.fields))
    .chain((name) => {
      const kind = query.fields[name]!;
      const base = query.valid[name] ?? (typeof kind === 'object' ? kind[0]! : '1');
      const values: Array<fc.Arbitrary<string>> = [
        insertedInto(encodeURIComponent(base), fc.constant('%00')),
        tenThousandUrl,
        fc.constant(`${encodeURIComponent(base)}&${name}=${encodeURIComponent(base)}`),
      ];
      if (kind !== 'text') {
        values.push(
          fc.tuple(fc.nat({ max: base.length }), fc.constantFrom(...INVALID_UTF8_ESCAPES)).map(([at, e]) => `${encodeURIComponent(base.slice(0, at))}${e}${encodeURIComponent(base.slice(at))}`),
          fc.string({ maxLength: 12 }).map(encodeURIComponent),
        );
      }
      if (typeof kind === 'object') values.push(misspelled(kind).map((v) => urlEncode(v)));
      return fc.oneof(...values).map((value) => ({ query: encode({ ...validEncoded, [name]: value }), field: `query.${name}` }));
    })
    .filter(({ query: q }) => !accepted(query.schema, { ...parseQueryString(q) }));
}

/** Headers or bytes Node's own HTTP parser refuses. */
const parserHostile = fc.oneof(
  fc.integer({ min: 16_500, max: 40_000 }).map((n) => ({ headers: { 'X-Hostile': 'h'.repeat(n) } as Record<string, string>, status: [431] })),
  fc.integer({ min: 700, max: 1_500 }).map((n) => ({ headers: Object.fromEntries(Array.from({ length: n }, (_, i) => [`X-H${i}`, 'v'.repeat(20)])), status: [431] })),
  fc.constantFrom('\u0000', '\u0001', '\u007f', '\r').map((c) => ({ headers: { 'X-Hostile': `a${c}b` } as Record<string, string>, status: [400] })),
);

/** Content types a JSON body should not come with; charsets and encodings body parsers refuse. */
const WRONG_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/octet-stream', undefined] as const;
const REFUSED_ENVELOPES: ReadonlyArray<Record<string, string>> = [
  { 'Content-Type': 'application/json; charset=latin1' },
  { 'Content-Type': 'application/json; charset=utf-16' },
  { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
  { 'Content-Type': 'application/json', 'Content-Encoding': 'deflate' },
  { 'Content-Type': 'application/json', 'Content-Encoding': 'bogus' },
];

/** Every kind of generated request for one endpoint, each with what it must get. */
/**
 * What a hostile body gets: the route's answer, unless its key is written twice, which the body
 * parser refuses first (400 naming the repeated key) whatever the route would say.
 */
function bodyOutcome(b: { field: string; utf8: boolean; duplicated: boolean }, only: readonly number[] | undefined) {
  if (b.duplicated) return { status: [400], field: b.field, alt: b.utf8 ? ['body'] : [] };
  return { status: only ?? [400], field: b.field, alt: b.utf8 ? ['body'] : [] };
}

export function hostileRequests(endpoint: Endpoint, rules: ServiceBodyRules): fc.Arbitrary<Case> {
  const validParam = endpoint.param ? encodeURIComponent(endpoint.param.valid) : '';
  const validQuery = endpoint.query ? `?${Object.entries(endpoint.query.valid).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}` : '';
  const build = (input: { param?: string; decodedParam?: string; query?: string; body?: Buffer; headers?: Record<string, string> }) => {
    const body = input.body ?? (endpoint.body ? jsonBytes(endpoint.body.valid) : undefined);
    const signature = endpoint.sign?.({ param: input.decodedParam ?? endpoint.param?.valid ?? '', body: body ?? Buffer.alloc(0) });
    // The hostile headers last: they replace what a valid request would send.
    const headers: Record<string, string> = { ...(endpoint.body ? { 'Content-Type': 'application/json' } : {}), ...endpoint.headers?.(), ...signature, ...input.headers };
    for (const [name, value] of Object.entries(headers)) if (value === undefined) delete headers[name];
    return rawRequest({ method: endpoint.method, path: `${endpoint.path(input.param ?? validParam)}${input.query ?? validQuery}`, headers, ...(body ? { body } : {}) });
  };
  const over = (body: Buffer) => body.length > rules.bodyLimitBytes;
  const only = endpoint.statuses;
  const kinds: Array<{ weight: number; arbitrary: fc.Arbitrary<Case> }> = [];
  if (endpoint.body) {
    const spec = endpoint.body;
    kinds.push({
      weight: 12,
      arbitrary: hostileBody(spec).map((b) => ({
        request: build({ body: b.body }),
        ...(over(b.body) ? { status: [413] } : bodyOutcome(b, only)),
      })),
    });
    const wrong = endpoint.wrongContentType === undefined ? rules.wrongContentType : endpoint.wrongContentType;
    if (wrong) {
      kinds.push({
        weight: 2,
        arbitrary: fc.tuple(hostileBody(spec), fc.constantFrom(...WRONG_TYPES)).map(([b, type]) => {
          const headers = { 'Content-Type': type } as Record<string, string>;
          if (wrong === 'parsed') return { request: build({ body: b.body, headers }), ...(over(b.body) ? { status: [413] } : bodyOutcome(b, only)) };
          return { request: build({ body: b.body, headers, ...(wrong.param ? { param: wrong.param, decodedParam: wrong.param } : {}) }), status: wrong.status, ...(wrong.field ? { field: wrong.field } : {}) };
        }),
      });
    }
    kinds.push({
      weight: 1,
      // The charset or encoding is refused before the length is looked at.
      arbitrary: fc.tuple(hostileBody(spec), fc.constantFrom(...REFUSED_ENVELOPES)).map(([b, headers]) => ({ request: build({ body: b.body, headers }), status: [400, 413, 415] })),
    });
    // The body as a whole: not JSON, not an object, empty, over the body limit.
    const whole: Array<fc.Arbitrary<Case>> = [
      fc.string({ maxLength: 40 }).filter((t) => t.trim() !== '' && !parses(t)).map((t) => ({ request: build({ body: Buffer.from(t) }), status: only ?? [400], field: 'body' })),
      fc.constantFrom('[]', '1', '"x"', 'null', 'true', '[{}]').map((t) => ({ request: build({ body: Buffer.from(t) }), status: only ?? [400], field: 'body' })),
    ];
    // express.json reads an empty body as {}: hostile only where {} is not a valid request.
    if (!accepted(spec.schema, {})) whole.push(fc.constant(0).map(() => ({ request: build({ body: Buffer.alloc(0) }), status: only ?? [400], field: 'body' })));
    // Over the body limit: few, each is that many bytes to send. (Every request is built anew:
    // a signed one must not repeat a signature.)
    const overLimit = fc.constant(0).map(() => ({ request: build({ body: Buffer.alloc(rules.bodyLimitBytes + 1, 0x20) }), status: [413] }));
    kinds.push({ weight: 2, arbitrary: fc.oneof({ weight: 60, arbitrary: fc.oneof(...whole) }, { weight: 1, arbitrary: overLimit }) });
  }
  if (endpoint.param) {
    kinds.push({ weight: 4, arbitrary: hostileParam(endpoint.param).map((p) => ({ request: build({ param: p.encoded, decodedParam: p.decoded }), status: only ?? [400], field: p.field, alt: p.alt })) });
  }
  if (endpoint.query) {
    kinds.push({ weight: 4, arbitrary: hostileQuery(endpoint.query).map((q) => ({ request: build({ query: `?${q.query}` }), status: only ?? [400], field: q.field })) });
  }
  if (endpoint.hostileHeaders) {
    kinds.push({ weight: 2, arbitrary: endpoint.hostileHeaders.map((h) => ({ request: build({ headers: h.headers }), status: h.status, ...(h.field ? { field: h.field } : {}) })) });
  }
  kinds.push({ weight: 1, arbitrary: parserHostile.map((h) => ({ request: build({ headers: h.headers }), status: h.status, parser: true })) });
  return fc.oneof(...kinds);
}

// ---------------------------------------------------------------------------------------------
// Running them.

/** Throws unless `res` is what `c` must get: no 5xx, an expected 4xx, problem+json, the field named. */
export function checkResponse(c: Case, res: RawResponse): void {
  const shown = `${res.status} ${res.body.toString().slice(0, 300)}`;
  if (res.status >= 500) throw new Error(`5xx: ${shown}`);
  if (!c.status.includes(res.status)) throw new Error(`status ${res.status} not in [${c.status}]: ${shown}`);
  // Node's own answer to what its parser refuses may be a bare status line, without a body.
  if (!c.parser || res.body.length > 0) {
    if (!res.headers['content-type']?.startsWith('application/problem+json')) throw new Error(`not problem+json (${res.headers['content-type']}): ${shown}`);
  }
  if (res.status === 400 && c.field) {
    const problem = JSON.parse(res.body.toString()) as { errors?: Array<{ field: string }> };
    const fields = problem.errors?.map((e) => e.field) ?? [];
    if (!fields.some((f) => f === c.field || f.startsWith(`${c.field}.`) || c.alt?.includes(f))) throw new Error(`400 without an errors entry for ${c.field}: ${shown}`);
  }
}

/** Row count of every table of the database. */
export async function tableCounts(sql: postgres.Sql): Promise<Record<string, number>> {
  const tables = await sql<{ name: string }[]>`select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`;
  const counts: Record<string, number> = {};
  for (const { name } of tables) counts[name] = (await sql<{ n: number }[]>`select count(*)::int as n from ${sql(name)}`)[0]!.n;
  return counts;
}

/**
 * Sends `runs` generated requests one after another (fast-check shrinks a failure to a minimal
 * request, shown readable) and checks each; counts them under `label`. Returns nothing: the
 * caller compares row counts around it.
 */
export async function sendHostile(input: { client: RawHttpClient; arbitrary: fc.Arbitrary<Case>; runs: number; counter: CaseCounter; label: string }): Promise<void> {
  let n = 0;
  const readable = input.arbitrary.map((c) => Object.assign(c, { [fc.toStringMethod]: () => `\n${describeRequest(c.request)}\n(expects ${JSON.stringify({ ...c, request: undefined })})` }));
  try {
    await fc.assert(
      fc.asyncProperty(readable, async (c) => {
        n++;
        checkResponse(c, await input.client.send(c.request));
      }),
      { numRuns: input.runs },
    );
  } finally {
    input.counter.add(input.label, n);
  }
}

/** Per-label counters and a summary for the suite's output. */
export class CaseCounter {
  private readonly counts = new Map<string, number>();
  private readonly started = performance.now();

  add(label: string, n = 1): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + n);
  }

  get total(): number {
    let total = 0;
    for (const n of this.counts.values()) total += n;
    return total;
  }

  summary(title: string): string {
    const seconds = (performance.now() - this.started) / 1000;
    const rows = [...this.counts].map(([label, n]) => `  ${label.padEnd(40)} ${n.toLocaleString('en').padStart(8)}`);
    return `${title}: ${this.total.toLocaleString('en')} generated requests in ${seconds.toFixed(1)} s (${Math.round(this.total / seconds).toLocaleString('en')}/s)\n${rows.join('\n')}`;
  }
}
