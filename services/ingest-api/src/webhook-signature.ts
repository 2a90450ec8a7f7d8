import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { unauthorized } from '@hub/http';
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

/**
 * Verifies a vendor callback (SPEC §3): `v1=` + hex HMAC-SHA256(secret, "<timestamp>.<raw body>")
 * over the exact bytes received, a timestamp within the tolerance, and a signature not seen
 * before inside the window (replay). Every failure is a 401; an unknown vendor or a vendor
 * without a secret is refused (fail closed). Returns the vendor.
 */
export async function verifyWebhook(
  deps: { redis: Redis; config: IngestConfig; now: Date },
  input: { vendor: string | undefined; timestamp: string | undefined; signature: string | undefined; rawBody: Buffer },
): Promise<Vendor> {
  const vendor = (VENDORS as readonly string[]).includes(input.vendor ?? '') ? (input.vendor as Vendor) : undefined;
  if (!vendor) throw reject('unknown vendor');
  const secret = secretOf(deps.config, vendor);
  if (!secret) throw reject('no webhook secret configured for this vendor');
  if (!input.timestamp || !/^\d{1,16}$/.test(input.timestamp)) throw reject('timestamp must be epoch milliseconds');
  const skew = Math.abs(deps.now.getTime() - Number(input.timestamp));
  if (skew > deps.config.WEBHOOK_TOLERANCE_MS) throw reject('timestamp outside the accepted window');
  const match = SIGNATURE.exec(input.signature ?? '');
  if (!match) throw reject('signature must be v1=<hex hmac-sha256>');
  const expected = createHmac('sha256', secret).update(`${input.timestamp}.`).update(input.rawBody).digest();
  const given = Buffer.from(match[1]!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw reject('signature mismatch');
  // Remembered for twice the tolerance: a timestamp may be up to the tolerance in the future.
  const fresh = await deps.redis.set(`ack-sig:${vendor}:${match[1]}`, '1', 'PX', 2 * deps.config.WEBHOOK_TOLERANCE_MS, 'NX');
  if (fresh !== 'OK') throw reject('replayed signature');
  return vendor;
}
