// Pure analysis of a chaos run: what the counting vendor saw, against the faults and the database.
import type { Channel } from '@hub/domain';
import type { RequestTry } from './load.ts';
import { VENDOR_OF_CHANNEL, type SendRecord, type VendorName } from './vendor-protocol.ts';

export interface AttemptRow {
  id: string;
  notification_id: string;
  channel: Channel;
  status: string;
  retry_count: number;
  idempotency_key: string;
  /** When its final outcome was recorded (the outcome transaction's start), null while open. */
  completed_at: Date | null;
}

const CHANNEL_OF_VENDOR = Object.fromEntries(Object.entries(VENDOR_OF_CHANNEL).map(([c, v]) => [v, c])) as Record<VendorName, Channel>;

/** Maps a send to the attempt it delivered: FCM carries the attempt id, the others the notification's token. */
export function attemptResolver(attempts: AttemptRow[]): (send: SendRecord) => string | undefined {
  const ids = new Set(attempts.map((a) => a.id));
  const byKeyAndChannel = new Map<string, string[]>();
  for (const a of attempts) {
    const k = `${a.channel}|${a.idempotency_key}`;
    byKeyAndChannel.set(k, [...(byKeyAndChannel.get(k) ?? []), a.id]);
  }
  return (send) => {
    if (send.key === null) return undefined;
    if (send.vendor === 'fcm') return ids.has(send.key) ? send.key : undefined;
    const candidates = byKeyAndChannel.get(`${CHANNEL_OF_VENDOR[send.vendor]}|${send.key}`);
    // One attempt per (notification, non-PUSH channel); an SMS fallback would make two.
    return candidates?.length === 1 ? candidates[0] : undefined;
  };
}

export interface KillEvent {
  /** The counting vendor's name of the killed process (push-1.g2 …): every send it made carries it. */
  vendorSlot: string;
  at: number;
}

/**
 * A send of the killed process still unanswered when it died. Every send of that process was
 * made before the kill, even one the counting vendor got to read later (its own event loop lags
 * on a busy machine), so only the answer's time matters.
 */
export function openAtKill(send: SendRecord, kill: KillEvent): boolean {
  return send.slot === kill.vendorSlot && (send.answeredAt === null || send.answeredAt > kill.at);
}

export interface Duplicate {
  attemptId: string;
  vendor: VendorName;
  sends: SendRecord[];
  explained: boolean;
  /**
   * For an explained one: whether the vendor had answered the killed send before the kill (the
   * crash fell between the vendor's answer and the outcome's commit) or not (still at the vendor).
   */
  answeredBeforeKill: boolean;
}

/**
 * Attempts the vendor accepted more than once. A duplicate is explained only if every accepted
 * send but the last was made by a dispatcher process that was then SIGKILLed, the next send came
 * from another process, and the attempt's outcome was not recorded before that kill (its
 * completed_at is later): the at-least-once window a crash leaves between a vendor call and the
 * commit of its outcome, and nothing else. Whether the vendor had already answered is reported.
 */
export function findDuplicates(
  sends: SendRecord[],
  attemptOf: (s: SendRecord) => string | undefined,
  kills: KillEvent[],
  recordedAt: (attemptId: string) => number | null,
): Duplicate[] {
  const accepted = new Map<string, SendRecord[]>();
  for (const send of sends) {
    if (!send.accepted) continue;
    const id = attemptOf(send);
    if (!id) continue;
    accepted.set(id, [...(accepted.get(id) ?? []), send]);
  }
  const duplicates: Duplicate[] = [];
  for (const [attemptId, list] of accepted) {
    if (list.length < 2) continue;
    list.sort((a, b) => a.startedAt - b.startedAt);
    const recorded = recordedAt(attemptId);
    let answeredBeforeKill = false;
    const explained = list.slice(0, -1).every((send, i) => {
      const next = list[i + 1]!;
      const kill = kills.find((k) => k.vendorSlot === send.slot);
      if (!kill || next.slot === send.slot) return false;
      if (recorded !== null && recorded < kill.at) return false;
      if (!openAtKill(send, kill)) answeredBeforeKill = true;
      return true;
    });
    duplicates.push({ attemptId, vendor: list[0]!.vendor, sends: list, explained, answeredBeforeKill: explained && answeredBeforeKill });
  }
  return duplicates;
}

export interface KillRetry {
  kill: KillEvent;
  /** Sends of the killed instance open at the kill. */
  inFlight: number;
  /** Their attempts that were sent again afterwards, and the slowest one's delay (ms). */
  retried: number;
  maxDelayMs: number | null;
  /** Attempts in flight at the kill that never reached the vendor again. */
  notRetried: string[];
}

/**
 * For each dispatcher SIGKILL: how long until the deliveries it had at the vendor were sent again.
 * A send whose outcome was recorded before the kill (completed_at) had its answer in time, even
 * if the counting vendor, busy, timestamped the answer a little later: it was not in flight.
 */
export function killRetries(
  sends: SendRecord[],
  attemptOf: (s: SendRecord) => string | undefined,
  kills: KillEvent[],
  recordedAt: (attemptId: string) => number | null,
): KillRetry[] {
  const byAttempt = new Map<string, SendRecord[]>();
  for (const send of sends) {
    const id = attemptOf(send);
    if (id) byAttempt.set(id, [...(byAttempt.get(id) ?? []), send]);
  }
  return kills.map((kill) => {
    const open = sends.filter((s) => {
      if (!openAtKill(s, kill)) return false;
      const id = attemptOf(s);
      const recorded = id === undefined ? null : recordedAt(id);
      return recorded === null || recorded > kill.at;
    });
    const attempts = new Set(open.map(attemptOf).filter((id): id is string => id !== undefined));
    let maxDelayMs: number | null = null;
    const notRetried: string[] = [];
    let retried = 0;
    for (const id of attempts) {
      const next = (byAttempt.get(id) ?? []).filter((s) => s.slot !== kill.vendorSlot && s.startedAt > kill.at).sort((a, b) => a.startedAt - b.startedAt)[0];
      if (!next) {
        notRetried.push(id);
        continue;
      }
      retried++;
      maxDelayMs = Math.max(maxDelayMs ?? 0, next.startedAt - kill.at);
    }
    return { kill, inFlight: open.length, retried, maxDelayMs, notRetried };
  });
}

/** Per vendor: ms from `after` to its first send (any instance), null if none. */
export function firstSendAfter(sends: SendRecord[], after: number): Record<VendorName, number | null> {
  const result: Record<VendorName, number | null> = { fcm: null, ses: null, twilio: null, kakao: null };
  for (const send of sends) {
    if (send.startedAt <= after) continue;
    const delay = send.startedAt - after;
    const current = result[send.vendor];
    if (current === null || delay < current) result[send.vendor] = delay;
  }
  return result;
}

export interface RateMeasure {
  vendor: VendorName;
  sends: number;
  /** Most sends in one epoch-aligned second. */
  maxPerSecond: number;
  /** Most sends in any 1 s window (sliding). */
  maxSliding1s: number;
  /** Most sends in any 5 s window, per second. */
  maxSliding5s: number;
}

/** Requests that reached each vendor per second (every request counts against a quota, answered or not). */
export function sendRates(sends: SendRecord[]): RateMeasure[] {
  return (['fcm', 'ses', 'twilio', 'kakao'] as VendorName[]).map((vendor) => {
    const times = sends.filter((s) => s.vendor === vendor).map((s) => s.startedAt).sort((a, b) => a - b);
    const buckets = new Map<number, number>();
    for (const t of times) buckets.set(Math.floor(t / 1_000), (buckets.get(Math.floor(t / 1_000)) ?? 0) + 1);
    return {
      vendor,
      sends: times.length,
      maxPerSecond: Math.max(0, ...buckets.values()),
      maxSliding1s: slidingMax(times, 1_000),
      maxSliding5s: slidingMax(times, 5_000) / 5,
    };
  });
}

function slidingMax(sorted: number[], windowMs: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/** Node's codes for a request cut off by the server going away mid-request. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'socket hang up', 'UND_ERR_SOCKET']);

/** Requests to an ingest-api instance between its SIGTERM and its exit (+1 s) that ended in a reset. */
export function resetsDuring(tries: RequestTry[], window: { slot: string; at: number; exitedAt: number }): RequestTry[] {
  return tries.filter((t) => t.slot === window.slot && t.error !== undefined && RESET_CODES.has(t.error) && t.endedAt >= window.at && t.startedAt <= window.exitedAt + 1_000);
}

export function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}
