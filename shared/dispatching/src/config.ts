import { z } from 'zod';
import { checkKafkaEnv, commonEnv, kafkaEnv, optionalRedisEnv, port, positiveInt } from '@hub/config';
import type { Channel } from '@hub/domain';
import { requiredVendorVariables, vendorEnv } from '@hub/vendors';
import { backoffEnv } from '@hub/attempts';

/** Default health/metrics port per channel (SPEC §1). */
export const DISPATCHER_PORTS: Record<Channel, number> = {
  PUSH: 9102,
  EMAIL: 9103,
  SMS: 9104,
  KAKAO_ALIMTALK: 9105,
};

export function dispatcherConfigSchema(channel: Channel) {
  return z
    .object({
      ...commonEnv,
      ...kafkaEnv,
      ...vendorEnv,
      ...backoffEnv,
      ...optionalRedisEnv,
      PORT: port(DISPATCHER_PORTS[channel]),
      // Deliveries in flight at once from the bulk topic (MARKETING, SERVICE). With a slow
      // vendor, throughput ≈ concurrency / latency: 256 slots carry ~2,500/s at 100 ms (1,806/s
      // measured on 2 cores; 64 gave 499/s). Postgres work stays bounded by the micro-batchers
      // and DATABASE_POOL_MAX, and the vendor by VENDOR_RATE_PER_SECOND.
      DISPATCH_CONCURRENCY: positiveInt(256),
      // Deliveries in flight at once from the priority topic (SECURITY, TRANSACTIONAL): its own
      // slots, so a bulk backlog never delays an OTP.
      DISPATCH_PRIORITY_CONCURRENCY: positiveInt(32),
      // Deliveries in flight at once from the priority lane's retry topic (an OTP's retry after a
      // failed call or a crashed worker): its own slots and fetches, never behind first sends.
      DISPATCH_RETRY_CONCURRENCY: positiveInt(16),
      // After a fetch that brought deliveries, the next fetch of that lane waits this long, so
      // records arriving in a trickle are claimed and recorded together instead of one round
      // trip each: fewer Kafka fetches and Postgres statements per delivery, for at most this
      // much latency. 0 fetches again at once. 100 ms, not 10: ADR 0032.
      DISPATCH_FETCH_LINGER_MS: z.coerce.number().int().min(0).max(1_000).default(100),
      // How long an idle lane's long poll waits at the broker (a record answers it at once).
      // Longer: fewer fetches and heartbeats while idle; shorter: a rebalance (a broker restart,
      // a member that died) is heard sooner. At most 3 s, half the 6 s consumer session.
      DISPATCH_FETCH_MAX_WAIT_MS: z.coerce.number().int().min(100).max(3_000).default(3_000),
      // How long a claimed attempt belongs to this worker; past it the relay treats the worker
      // as dead and recovers the attempt, so a SIGKILLed dispatcher's deliveries are published
      // again about this plus the first backoff (2 s ±20 %) after the kill (~15 s), leaving half
      // of the 30 s target for the channel's consumer to take them. No vendor call starts that
      // could outlive it: two whole calls fit (2 × VENDOR_TIMEOUT_MS + backoff); a third, after
      // two timeouts in a row, is left to the retry schedule. Raise it with VENDOR_TIMEOUT_MS.
      DISPATCH_LEASE_MS: positiveInt(12_000),
      // Sends per second to this channel's vendor (its quota), held across every replica through
      // Redis (REDIS_URL is then required); 0 = no cap. A burst above it waits, before the claim.
      VENDOR_RATE_PER_SECOND: z.coerce.number().int().min(0).default(0),
      // Vendor calls per dispatch on transient errors (SPEC §2: 3).
      VENDOR_CALL_ATTEMPTS: positiveInt(3),
      // Circuit breaker per vendor: open at this failure percentage once the rolling 10 s window
      // holds VOLUME calls; after RESET_MS one trial call decides whether to close.
      VENDOR_BREAKER_ERROR_PERCENT: z.coerce.number().int().min(1).max(100).default(50),
      VENDOR_BREAKER_VOLUME: positiveInt(20),
      VENDOR_BREAKER_RESET_MS: positiveInt(10_000),
    })
    .superRefine((config, ctx) => {
      checkKafkaEnv(config, ctx);
      if (config.DISPATCH_LEASE_MS <= config.VENDOR_TIMEOUT_MS) {
        ctx.addIssue({ code: 'custom', path: ['DISPATCH_LEASE_MS'], message: 'must exceed VENDOR_TIMEOUT_MS (a vendor call must finish inside its lease)' });
      }
      if (config.VENDOR_RATE_PER_SECOND > 0 && !config.REDIS_URL) {
        ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'required with VENDOR_RATE_PER_SECOND > 0 (the cap is shared by every replica through Redis)' });
      }
      for (const variable of requiredVendorVariables(channel, config)) {
        if (!config[variable]) ctx.addIssue({ code: 'custom', path: [variable], message: 'required with VENDOR_MODE=http' });
      }
    });
}

export type DispatcherConfig = z.infer<ReturnType<typeof dispatcherConfigSchema>>;
