// The chaos suite's counting vendor: ONE HTTP server on 127.0.0.1 answering for the four vendors
// (FCM, SES, Twilio, Kakao/SENS) and recording every send. Run as its own process by
// chaos/run.ts (so the load generator's CPU is its own), configured by CHAOS_VENDOR_CONFIG.
//
// Each dispatcher process gets base URLs `http://127.0.0.1:<port>/i/<slot>` (slot = push-1.g1,
// email-2.g3, …: channel, replica, generation): the server strips the prefix, so every send is
// attributed to the dispatcher process that made it. The answer itself comes from the project's fake vendor servers
// (shared/vendors/src/fakes): the request is forwarded to them as received, so credentials,
// signatures and answer shapes are checked exactly as the adapter tests check them. A send is
// recorded with the hub's attempt id (FCM: message.data.attemptId) or, for SES, Twilio and
// Kakao whose adapters send no id, with the chaos token the load generator put in the body.
//
// Control endpoints (the runner only): POST /__chaos/outage {"on": true|false} — every vendor
// answers 503 as it documents an outage; GET /__chaos/sends — every record so far;
// GET /__chaos/last-send?slot=push-1 — when that dispatcher instance last sent.
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeFcm, startFakeKakao, startFakeSes, startFakeTwilio, type FakeServer } from '../shared/vendors/src/fakes/index.ts';
import { CHAOS_TOKEN_PATTERN, type SendRecord, type VendorName, type VendorServerConfig } from './vendor-protocol.ts';

const config = JSON.parse(process.env.CHAOS_VENDOR_CONFIG ?? '') as VendorServerConfig;

const fakes: Record<VendorName, FakeServer> = {
  fcm: await startFakeFcm(config.fcm),
  ses: await startFakeSes(),
  twilio: await startFakeTwilio(config.twilio),
  kakao: await startFakeKakao(config.kakao),
};
// The fakes keep every request in memory; the records here are what counts, so theirs are dropped.
for (const fake of Object.values(fakes)) setInterval(() => fake.requests.splice(0), 5_000).unref();

const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const records: SendRecord[] = [];
/** The latest send of each dispatcher instance (the runner waits for a restarted one to send again). */
const lastSend = new Map<string, number>();
let outage = false;

const now = () => performance.timeOrigin + performance.now();

function vendorOf(path: string): VendorName | undefined {
  if (path.startsWith('/v1/projects/')) return 'fcm';
  if (path.startsWith('/v2/email/')) return 'ses';
  if (path.startsWith('/2010-04-01/Accounts/')) return 'twilio';
  if (path.startsWith('/alimtalk/')) return 'kakao';
  return undefined;
}

/** What identifies the send: the attempt id where the request carries it, else the body's chaos token. */
function keyOf(vendor: VendorName, body: string): string | null {
  try {
    switch (vendor) {
      case 'fcm':
        return (JSON.parse(body) as { message?: { data?: { attemptId?: string } } }).message?.data?.attemptId ?? null;
      case 'ses':
        return tokenIn((JSON.parse(body) as { Content?: { Simple?: { Body?: { Text?: { Data?: string } } } } }).Content?.Simple?.Body?.Text?.Data);
      case 'twilio':
        return tokenIn(new URLSearchParams(body).get('Body') ?? undefined);
      case 'kakao':
        return tokenIn((JSON.parse(body) as { messages?: { content?: string }[] }).messages?.[0]?.content);
    }
  } catch {
    return null;
  }
}

function tokenIn(text: string | undefined): string | null {
  return text ? (new RegExp(CHAOS_TOKEN_PATTERN).exec(text)?.[0] ?? null) : null;
}

/** A 503 the way each vendor documents an outage (the adapters classify all four as transient). */
function outageReply(vendor: VendorName): { status: number; headers: Record<string, string>; body: string } {
  const json = { 'content-type': 'application/json' };
  switch (vendor) {
    case 'fcm':
      return {
        status: 503,
        headers: json,
        body: JSON.stringify({
          error: { code: 503, status: 'UNAVAILABLE', message: 'The service is currently unavailable.', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNAVAILABLE' }] },
        }),
      };
    case 'ses':
      return {
        status: 503,
        headers: { ...json, 'x-amzn-errortype': 'ServiceUnavailable:http://internal.amazon.com/coral/com.amazonaws.sesv2/', 'x-amzn-requestid': crypto.randomUUID() },
        body: JSON.stringify({ message: 'Service Unavailable' }),
      };
    case 'twilio':
      return { status: 503, headers: json, body: JSON.stringify({ code: 20503, message: 'Service Unavailable', status: 503 }) };
    case 'kakao':
      return { status: 503, headers: json, body: JSON.stringify({ error: { errorCode: '503', message: 'Service Unavailable' } }) };
  }
}

function forward(fake: FakeServer, req: IncomingMessage, path: string, body: Buffer): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const target = new URL(fake.url);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === 'host' || name === 'connection' || name === 'keep-alive') continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return new Promise((resolve, reject) => {
    const out = httpRequest({ host: target.hostname, port: target.port, method: req.method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const answerHeaders: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined || name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding' || name === 'date') continue;
          answerHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
        }
        resolve({ status: res.statusCode ?? 502, headers: answerHeaders, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    out.on('error', reject);
    out.end(body);
  });
}

function latency(): number {
  return config.latencyMinMs + Math.random() * (config.latencyMaxMs - config.latencyMinMs);
}

async function handleSend(req: IncomingMessage, res: ServerResponse, slot: string, path: string, body: Buffer): Promise<void> {
  const vendor = vendorOf(path);
  if (!vendor) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not a vendor endpoint"}');
    return;
  }
  const record: SendRecord = {
    seq: records.length,
    slot,
    vendor,
    key: keyOf(vendor, body.toString('utf8')),
    startedAt: now(),
    answeredAt: null,
    abandonedAt: null,
    status: 0,
    accepted: false,
  };
  records.push(record);
  lastSend.set(slot, record.startedAt);
  lastSend.set(slot.split('.')[0]!, record.startedAt);
  // The dispatcher went away (killed, or its own timeout) before our answer was written.
  res.once('close', () => {
    if (record.answeredAt === null && record.abandonedAt === null) record.abandonedAt = now();
  });
  res.once('finish', () => {
    record.answeredAt = now();
  });
  const inOutage = outage;
  await new Promise((resolve) => setTimeout(resolve, inOutage ? config.latencyMinMs : latency()));
  let answer: { status: number; headers: Record<string, string>; body: Buffer | string };
  if (inOutage) {
    answer = outageReply(vendor);
  } else {
    // Forwarded even when the dispatcher is already gone: a vendor processes what it received.
    answer = await forward(fakes[vendor], req, path, body);
  }
  record.status = answer.status;
  record.accepted = !inOutage && answer.status >= 200 && answer.status < 300 && acceptedBody(vendor, answer.body);
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}

/** Kakao answers 202 and refuses per message; every other vendor's 2xx is an acceptance. */
function acceptedBody(vendor: VendorName, body: Buffer | string): boolean {
  if (vendor !== 'kakao') return true;
  try {
    return (JSON.parse(body.toString()) as { messages?: { requestStatusCode?: string }[] }).messages?.[0]?.requestStatusCode === 'A000';
  } catch {
    return false;
  }
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('error', () => {});
  req.on('end', () => {
    const url = req.url ?? '/';
    const body = Buffer.concat(chunks);
    if (url === '/__chaos/outage' && req.method === 'POST') {
      outage = (JSON.parse(body.toString() || '{}') as { on?: boolean }).on === true;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ outage, at: now() }));
      return;
    }
    if (url.startsWith('/__chaos/last-send?') && req.method === 'GET') {
      const slot = new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('slot') ?? '';
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ startedAt: lastSend.get(slot) ?? null }));
      return;
    }
    if (url === '/__chaos/sends' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(records));
      return;
    }
    // FCM's OAuth 2.0 token exchange: answered by the FCM fake, never recorded as a send.
    if (url === '/token' && req.method === 'POST') {
      forward(fakes.fcm, req, url, body).then(
        (answer) => res.writeHead(answer.status, answer.headers).end(answer.body),
        () => res.writeHead(502).end(),
      );
      return;
    }
    const match = /^\/i\/([a-z0-9.-]+)(\/.*)$/.exec(url);
    if (!match) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"unknown path"}');
      return;
    }
    handleSend(req, res, match[1]!, match[2]!, body).catch((err: unknown) => {
      console.error(JSON.stringify({ msg: 'counting vendor failed to answer', err: String(err) }));
      if (!res.headersSent && !res.destroyed) res.writeHead(502).end();
    });
  });
});
server.keepAliveTimeout = 65_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
// The runner reads this first line to learn the port.
console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));

const stop = async () => {
  server.closeAllConnections();
  server.close();
  await Promise.all(Object.values(fakes).map((f) => f.close()));
  agent.destroy();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
