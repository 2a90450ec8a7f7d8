import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { compareAndDelete } from './compare-and-delete.ts';
import { AppError, unauthorized, unavailable } from '@hub/http';
import type { IngestConfig } from './config.ts';
import { VENDORS, type Vendor } from './schemas.ts';

const SIGNATURE = /^v1=([0-9a-f]{64})$/;

function secretOf(config: IngestConfig, vendor: Vendor): string | undefined {
  switch (vendor) {
    case 'fcm':
      return config.WEBHOOK_SECRET_FCM;
    case 'ses':
      return config.WEBHOOK_SECRET_SES;
    case 'twilio':
      return config.WEBHOOK_SECRET_TWILIO;
    case 'kakao':
      return config.WEBHOOK_SECRET_KAKAO;
  }
}

const reject = (message: string) => unauthorized('UNAUTHORIZED', message);

/** A receipt whose signature checked out: who sent it, and the key its replay protection uses. */
export interface VerifiedReceipt {
  vendor: Vendor;
  replayKey: string;
}

/**
 * Verifies a vendor callback (SPEC §3): `v1=` + hex HMAC-SHA256(secret,
 * "<timestamp>.<attemptId>.<raw body>") over the exact bytes received, with the attempt id as it
 * appears in the path (so a receipt signed for one attempt is a mismatch on any other), and a
 * timestamp within the tolerance. Every failure is a 401; an unknown vendor or a vendor without
 * a secret is refused (fail closed). Replays are `claimReceipt`'s job, once this passed.
 */
export function verifyWebhook(
  deps: { config: IngestConfig; now: Date },
  input: { vendor: string | undefined; timestamp: string | undefined; signature: string | undefined; attemptId: string; rawBody: Buffer },
): VerifiedReceipt {
  const vendor = (VENDORS as readonly string[]).includes(input.vendor ?? '') ? (input.vendor as Vendor) : undefined;
  if (!vendor) throw reject('unknown vendor');
  const secret = secretOf(deps.config, vendor);
  if (!secret) throw reject('no webhook secret configured for this vendor');
  if (!input.timestamp || !/^\d{1,16}$/.test(input.timestamp)) throw reject('timestamp must be epoch milliseconds');
  const skew = Math.abs(deps.now.getTime() - Number(input.timestamp));
  if (skew > deps.config.WEBHOOK_TOLERANCE_MS) throw reject('timestamp outside the accepted window');
  const match = SIGNATURE.exec(input.signature ?? '');
  if (!match) throw reject('signature must be v1=<hex hmac-sha256>');
  const expected = createHmac('sha256', secret).update(`${input.timestamp}.${input.attemptId}.`).update(input.rawBody).digest();
  const given = Buffer.from(match[1]!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw reject('signature mismatch');
  return { vendor, replayKey: `ack-sig:${vendor}:${input.attemptId.toLowerCase()}:${match[1]}` };
}

// How long a receipt being processed holds its key: longer than processing one receipt (one
// transaction) ever takes, short enough that a receipt whose process died mid-way blocks the
// vendor's retry only briefly.
const PROCESSING_MS = 30_000;
const DONE = 'done';

/** A claimed receipt: settle it exactly once with the outcome of its processing. */
export interface ReceiptClaim {
  /** Processed (or refused for good, a 4xx): the same receipt again is a replay for the whole window. */
  remember(): Promise<void>;
  /** Processing failed (a 5xx): forget the receipt, so the vendor's retry goes through. */
  release(): Promise<void>;
}

/**
 * Replay protection of a verified receipt, per (vendor, attempt, signature): `SET NX` of a short
 * "processing" marker, so of two identical receipts at once only one is processed; the other is
 * a 409 REQUEST_IN_PROGRESS (retry shortly: the first may yet fail). A receipt already processed
 * inside the window is a replay (401). Redis unreachable: 503 UNAVAILABLE. The caller settles the claim: `remember` keeps the key for
 * twice the tolerance (a timestamp may be up to the tolerance in the future), `release` drops it.
 */
export async function claimReceipt(deps: { redis: Redis; config: IngestConfig }, replayKey: string): Promise<ReceiptClaim> {
  const owner = `processing:${randomUUID()}`;
  let previous: string | null;
  try {
    previous = await deps.redis.set(replayKey, owner, 'PX', PROCESSING_MS, 'NX', 'GET');
  } catch (err) {
    // Without replay protection the receipt cannot be taken; the vendor retries after a 503.
    throw unavailable('receipt replay protection is unavailable', err);
  }
  if (previous === DONE) throw reject('replayed signature');
  if (previous !== null) {
    throw new AppError({
      code: 'REQUEST_IN_PROGRESS',
      status: 409,
      message: 'the same receipt is being processed; retry shortly',
      headers: { 'Retry-After': '1' },
    });
  }
  return {
    remember: async () => {
      await deps.redis.set(replayKey, DONE, 'PX', 2 * deps.config.WEBHOOK_TOLERANCE_MS);
    },
    release: async () => {
      // Only the request that claimed the key may release it: after PROCESSING_MS another copy may have.
      await compareAndDelete(deps.redis, replayKey, owner);
    },
  };
}
