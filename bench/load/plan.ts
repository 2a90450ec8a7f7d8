// What the load generator process is asked to do, and what it answers (structured-clone IPC
// between bench/load/run.ts and bench/load/generator.ts).

export type Vendor = 'fcm' | 'ses' | 'twilio' | 'kakao';

/** POST /api/v1/notifications, SECURITY, a fresh Idempotency-Key each, recipients in turn. */
export interface SendWork {
  kind: 'send';
  recipients: string[];
}

/** GET /api/v1/notifications/me, pages (first pages and cursor pages) in turn. */
export interface HistoryWork {
  kind: 'history';
  pages: { recipientId: string; cursor: string | null }[];
  limit: number;
}

/**
 * POST /api/v1/deliveries/{attemptId}/ack, signed as the vendor signs (SPEC §3): 8 of 10
 * valid, 1 replayed (timestamp 10 minutes old, correctly signed), 1 tampered (wrong secret).
 * Each valid receipt carries its own vendorMessageId, so no two signatures repeat.
 */
export interface ReceiptWork {
  kind: 'receipt';
  attempts: { id: string; vendor: Vendor }[];
  secrets: Record<Vendor, string>;
  tag: string;
}

export type Work = SendWork | HistoryWork | ReceiptWork;

export type Pace =
  /** Request i is due at t0 + i / rate whatever the answers; late by more than maxLagMs or over maxOutstanding in flight = dropped. */
  | { type: 'open'; rate: number; seconds: number; maxLagMs: number; maxOutstanding: number }
  /** `concurrency` workers, each sending its next request when the previous one is answered. */
  | { type: 'closed'; concurrency: number; seconds: number };

export interface DriveSpec {
  baseUrl: string;
  /** Added to every request (an Authorization header when the hub checks JWTs). */
  headers: Record<string, string>;
  work: Work;
  pace: Pace;
  /** Keep-alive connections of the generator's pool. */
  connections: number;
  timeoutMs: number;
}

/** Answers of one class of requests (all, or valid / replay / tampered receipts). */
export interface ClassStats {
  sent: number;
  /** Status code → count. */
  statuses: Record<string, number>;
  /** Milliseconds from the request's send to its last body byte, every answered request. */
  latencies: number[];
  /** 429 answers whose problem+json code was RATE_LIMIT_EXCEEDED. */
  rateLimitCoded: number;
  /** 429 answers with a Retry-After header. */
  retryAfter: number;
  /** No answer: connection errors and timeouts. */
  failures: number;
  failureSamples: string[];
}

export interface DriveResult {
  classes: Record<string, ClassStats>;
  /** Requests due in the schedule (open loop) or started (closed loop). */
  scheduled: number;
  droppedLate: number;
  droppedOutstanding: number;
  /** From the first request due to the last one sent (or dropped). */
  offerSeconds: number;
  /** From the first request due to the last answer. */
  elapsedSeconds: number;
  /** The generator process's own CPU over the run, in % of one core. */
  cpuPercent: number;
  lagP99Ms: number;
  lagMaxMs: number;
  peakOutstanding: number;
}

export type GeneratorMessage = { type: 'drive'; spec: DriveSpec } | { type: 'exit' };
export type GeneratorReply = { type: 'result'; result: DriveResult } | { type: 'error'; message: string };

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
