// The idempotency drill (`npm run chaos -- --idempotency`): many concurrent repeats of the same
// Idempotency-Key while Redis keeps losing its idempotency entries (as in a flush or a failover
// to an empty replica). Postgres's unique key must still keep one notification per key, and
// every 409 must name that committed notification (or say REQUEST_IN_PROGRESS): a caller that
// trusts the answer must never hold an id that 404s.
import http from 'node:http';
import { Redis } from 'ioredis';
import { sql, type Kysely } from 'kysely';
import type { Database } from '@hub/db';
import { now } from './processes.ts';

export interface DrillCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DrillOptions {
  /** Base URLs of the ingest-api instances; requests are spread over them. */
  bases: string[];
  redisUrl: string;
  redisPrefix: string;
  db: Kysely<Database>;
  runId: string;
  keys: number;
  perKey: number;
  /** A request still unanswered after this long counts as hung. */
  hangMs: number;
  say: (line: string) => void;
}

interface Answer {
  key: string;
  status: number | null;
  code?: string;
  notificationId?: string;
  error?: string;
  ms: number;
}

export async function idempotencyDrill(options: DrillOptions): Promise<{ lines: string[]; checks: DrillCheck[] }> {
  const { bases, keys: keyCount, perKey, say } = options;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4_096 });
  const call = (base: string, method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = http.request(
        `${base}${path}`,
        { method, agent, timeout: options.hangMs, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: Record<string, unknown> = {};
            try {
              parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
            } catch {
              parsed = { raw: text.slice(0, 200) };
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('request hung'), { code: 'HUNG' })));
      req.on('error', reject);
      req.end(payload);
    });

  // A recipient per key (EMAIL only): each key's requests share one rate-limit bucket at most.
  const keys = Array.from({ length: keyCount }, (_, i) => `drill-${options.runId}-${i}`);
  for (let i = 0; i < keys.length; i += 8) {
    await Promise.all(
      keys.slice(i, i + 8).map(async (key) => {
        const res = await call(bases[0]!, 'PUT', `/api/v1/recipients/${key}`, { channels: [{ type: 'EMAIL', address: `${key}@example.com` }] });
        if (res.status >= 300) throw new Error(`setting up recipient ${key}: ${res.status} ${JSON.stringify(res.body)}`);
      }),
    );
  }

  // Delete the drill's idempotency entries in a loop until the requests end.
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  let flushing = true;
  let deletions = 0;
  let flushRounds = 0;
  const pattern = `${options.redisPrefix}idem:*drill-${options.runId}-*`;
  const flusher = (async () => {
    while (flushing) {
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
        cursor = next;
        if (found.length > 0) deletions += await redis.del(...found);
      } while (cursor !== '0' && flushing);
      flushRounds++;
      // ~200 flushes a second: every request still meets an emptied Redis, and the drill does not
      // take a whole core of this 2-core box away from the hub it measures.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();

  say(`idempotency drill: ${keyCount} keys × ${perKey} concurrent requests (${keyCount * perKey} in all) over ${bases.length} ingest-api instance(s), deleting Redis's idempotency entries in a loop`);
  const startedAt = now();
  let n = 0;
  const answers = await Promise.all(
    keys.flatMap((key) =>
      Array.from({ length: perKey }, async (): Promise<Answer> => {
        const base = bases[n++ % bases.length]!;
        const t0 = now();
        try {
          const res = await call(base, 'POST', '/api/v1/notifications', { recipientId: key, kind: 'SECURITY', title: 'Drill', body: `Idempotency drill ${key}` }, { 'idempotency-key': key });
          const code = typeof res.body.code === 'string' ? res.body.code : undefined;
          const notificationId = typeof res.body.notificationId === 'string' ? res.body.notificationId : undefined;
          return { key, status: res.status, ...(code ? { code } : {}), ...(notificationId ? { notificationId } : {}), ms: now() - t0 };
        } catch (err) {
          return { key, status: null, error: (err as { code?: string }).code ?? String(err), ms: now() - t0 };
        }
      }),
    ),
  );
  const elapsedMs = now() - startedAt;
  flushing = false;
  await flusher;
  await redis.quit().catch(() => {});
  agent.destroy();

  const stored = await options.db
    .selectFrom('notifications')
    .select(['id', 'idempotency_key'])
    .where(sql<boolean>`idempotency_key like ${`%drill-${options.runId}-%`}`)
    .execute();
  const byKey = new Map<string, string[]>();
  for (const row of stored) {
    const key = keys.find((k) => row.idempotency_key === k || row.idempotency_key.endsWith(`:${k}`));
    if (key) byKey.set(key, [...(byKey.get(key) ?? []), row.id]);
  }
  const notOne = keys.filter((k) => (byKey.get(k) ?? []).length !== 1);
  const wrongIds: Answer[] = [];
  const unexpected: Answer[] = [];
  const hung = answers.filter((a) => a.status === null && a.error === 'HUNG');
  const errors = answers.filter((a) => a.status === null && a.error !== 'HUNG');
  const tally = new Map<string, number>();
  for (const a of answers) {
    const label = a.status === null ? `error ${a.error}` : `${a.status}${a.code ? ` ${a.code}` : ''}`;
    tally.set(label, (tally.get(label) ?? 0) + 1);
    if (a.status === null) continue;
    const committed = byKey.get(a.key);
    const named = committed?.length === 1 ? committed[0] : undefined;
    if (a.status === 202 || (a.status === 409 && a.code === 'DUPLICATE_REQUEST')) {
      if (a.notificationId !== named) wrongIds.push(a);
    } else if (!(a.status === 409 && a.code === 'REQUEST_IN_PROGRESS')) {
      unexpected.push(a);
    }
  }
  const slowest = Math.max(0, ...answers.map((a) => a.ms));
  const lines = [
    `idempotency drill: ${answers.length} requests in ${(elapsedMs / 1000).toFixed(1)} s; Redis entries deleted ${deletions} times in ${flushRounds} rounds; slowest answer ${(slowest / 1000).toFixed(1)} s`,
    `  answers: ${[...tally].map(([label, count]) => `${label} ×${count}`).join(', ')}`,
    `  keys with exactly one notification: ${keyCount - notOne.length}/${keyCount}${notOne.length ? ` (e.g. ${notOne.slice(0, 3).map((k) => `${k}: ${(byKey.get(k) ?? []).length}`).join(', ')})` : ''}`,
    `  answers naming an id that is not the key's committed notification: ${wrongIds.length}${wrongIds.length ? ` (e.g. ${JSON.stringify(wrongIds.slice(0, 2))})` : ''}`,
  ];
  return {
    lines,
    checks: [
      { name: 'drill: exactly one notification per key', ok: notOne.length === 0, detail: `${notOne.length} keys otherwise` },
      { name: 'drill: every 202/409 names the committed notification (else REQUEST_IN_PROGRESS)', ok: wrongIds.length === 0 && unexpected.length === 0, detail: `${wrongIds.length} wrong ids, ${unexpected.length} other answers` },
      { name: `drill: no request hangs (answered within ${options.hangMs / 1000} s) or fails`, ok: hung.length === 0 && errors.length === 0, detail: `${hung.length} hung, ${errors.length} network errors` },
      { name: 'drill: Redis entries were really deleted under the requests', ok: deletions > 0, detail: `${deletions} deletions` },
    ],
  };
}
