// The floor of the receipt path: a minimal node:http handler for POST
// /api/v1/deliveries/{attemptId}/ack doing what ingest-api's receipt path cannot do without —
// the HMAC check (SPEC §3: v1=hex HMAC-SHA256(secret, "<ts>.<attemptId>.<body>"), timestamp
// within the tolerance, constant-time compare), the Redis replay mark (SET NX EX) and the
// Postgres lookup of the attempt by id — and nothing else (no express, no zod, no transaction,
// no metrics). Forked by bench/load/run.ts, which drives it and ingest-api with the same
// generator in the same run; its answer to the parent once listening is {type: 'ready'}.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { Redis } from 'ioredis';
import { openPostgres } from '@hub/db';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const port = Number(env('BASELINE_PORT'));
const secrets = JSON.parse(env('BASELINE_SECRETS')) as Record<string, string>;
const prefix = env('BASELINE_REDIS_PREFIX');
const toleranceMs = Number(process.env.BASELINE_TOLERANCE_MS ?? 300_000);
const sql = openPostgres(env('BASELINE_DATABASE_URL'), { max: Number(process.env.BASELINE_POOL_MAX ?? 10), onnotice: () => {} });
const redis = new Redis(env('BASELINE_REDIS_URL'), { keyPrefix: prefix, enableAutoPipelining: true, maxRetriesPerRequest: 1 });

const PATH = /^\/api\/v1\/deliveries\/([0-9a-fA-F-]{36})\/ack$/;
const SIGNATURE = /^v1=([0-9a-f]{64})$/;

function answer(res: http.ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(status >= 400 ? { status, ...body } : body);
  res.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function handle(attemptId: string, headers: http.IncomingHttpHeaders, rawBody: Buffer, res: http.ServerResponse): Promise<void> {
  const vendor = String(headers['x-notification-hub-vendor'] ?? '');
  const secret = secrets[vendor];
  if (!secret) return answer(res, 401, { code: 'UNAUTHORIZED', message: 'unknown vendor' });
  const timestamp = String(headers['x-notification-hub-timestamp'] ?? '');
  if (!/^\d{1,16}$/.test(timestamp) || Math.abs(Date.now() - Number(timestamp)) > toleranceMs) {
    return answer(res, 401, { code: 'UNAUTHORIZED', message: 'timestamp outside the accepted window' });
  }
  const match = SIGNATURE.exec(String(headers['x-notification-hub-signature'] ?? ''));
  if (!match) return answer(res, 401, { code: 'UNAUTHORIZED', message: 'signature must be v1=<hex>' });
  const expected = createHmac('sha256', secret).update(`${timestamp}.${attemptId}.`).update(rawBody).digest();
  const given = Buffer.from(match[1]!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return answer(res, 401, { code: 'UNAUTHORIZED', message: 'signature mismatch' });
  const fresh = await redis.set(`ack-sig:${vendor}:${attemptId.toLowerCase()}:${match[1]}`, '1', 'EX', Math.ceil((2 * toleranceMs) / 1_000), 'NX');
  if (fresh === null) return answer(res, 401, { code: 'UNAUTHORIZED', message: 'replayed signature' });
  let success: unknown;
  try {
    success = (JSON.parse(rawBody.toString('utf8')) as { success?: unknown }).success;
  } catch {
    return answer(res, 400, { code: 'BAD_REQUEST', message: 'body must be JSON' });
  }
  if (typeof success !== 'boolean') return answer(res, 400, { code: 'BAD_REQUEST', message: 'success must be a boolean' });
  const rows = await sql<{ id: string; status: string }[]>`select id, status from delivery_attempts where id = ${attemptId.toLowerCase()}`;
  const row = rows[0];
  if (!row) return answer(res, 404, { code: 'NOT_FOUND', message: 'no such attempt' });
  answer(res, 202, { attemptId: row.id, status: row.status, applied: false });
}

const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  const match = req.method === 'POST' ? PATH.exec(req.url ?? '') : null;
  if (!match) {
    req.resume();
    return answer(res, 404, { code: 'NOT_FOUND', message: 'no such route' });
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    handle(match[1]!, req.headers, Buffer.concat(chunks), res).catch(() => answer(res, 503, { code: 'UNAVAILABLE', message: 'a dependency failed' }));
  });
});

server.listen(port, '127.0.0.1', () => process.send?.({ type: 'ready' }));

const stop = () => {
  server.close();
  server.closeAllConnections();
  void Promise.allSettled([sql.end(), redis.quit()]).then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
