import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseEnv } from '@hub/config';
import { ingestConfigSchema } from './config.ts';
import { verifyWebhook } from './webhook-signature.ts';

const config = parseEnv(ingestConfigSchema, { DATABASE_URL: 'postgres://localhost/hub', REDIS_URL: 'redis://localhost:6379', WEBHOOK_SECRET_SES: 'ses-secret' });
const now = new Date('2026-03-10T03:00:00Z');
const A = '0190f5a0-0000-7000-8000-00000000000a';
const B = '0190f5a0-0000-7000-8000-00000000000b';
const body = Buffer.from('{"success":true}');
const sign = (attemptId: string, rawBody = body, timestamp = now.getTime()) =>
  `v1=${createHmac('sha256', 'ses-secret').update(`${timestamp}.${attemptId}.`).update(rawBody).digest('hex')}`;
const verify = (attemptId: string, signature: string) =>
  verifyWebhook({ config, now }, { vendor: 'ses', timestamp: String(now.getTime()), signature, attemptId, rawBody: body });

describe('verifyWebhook', () => {
  it('accepts an HMAC over "<timestamp>.<attemptId>.<raw body>" and keys replays by vendor, attempt and signature', () => {
    const signature = sign(A);
    expect(verify(A, signature)).toEqual({ vendor: 'ses', replayKey: `ack-sig:ses:${A}:${signature.slice(3)}` });
  });

  it('refuses a receipt signed for another attempt (401 signature mismatch)', () => {
    expect(() => verify(B, sign(A))).toThrow(expect.objectContaining({ status: 401, message: 'signature mismatch' }));
  });

  it('refuses the signature format before the attempt was signed ("<timestamp>.<raw body>")', () => {
    const old = `v1=${createHmac('sha256', 'ses-secret').update(`${now.getTime()}.`).update(body).digest('hex')}`;
    expect(() => verify(A, old)).toThrow(expect.objectContaining({ status: 401 }));
  });

  it('gives the same receipt for two attempts two replay keys', () => {
    expect(verify(A, sign(A)).replayKey).not.toBe(verify(B, sign(B)).replayKey);
  });

  it('keys an upper-case attempt id like its lower-case form', () => {
    const upper = A.toUpperCase();
    expect(verify(upper, sign(upper)).replayKey).toContain(`:${A}:`);
  });
});
