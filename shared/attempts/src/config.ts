import { positiveInt } from '@hub/config';

/** Domain retry backoff scale, shared by the dispatchers and the relay (which recovers leases). */
export const backoffEnv = {
  // Backoff after failed dispatch r is min(BASE * 2^(r-1), MAX) + jitter (SPEC §2: 1000 / 60000).
  // Only tests and drills shrink these.
  RETRY_BACKOFF_BASE_MS: positiveInt(1_000),
  RETRY_BACKOFF_MAX_MS: positiveInt(60_000),
};
