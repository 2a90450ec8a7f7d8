import { positiveInt } from '@hub/config';
import { DEFAULT_BACKOFF_SCALE } from '@hub/domain';

/** Domain retry backoff scale, shared by the dispatchers and the relay (which recovers leases). */
export const backoffEnv = {
  // Backoff after failed dispatch r is min(BASE * 4^(r-1), MAX) ±20 % (SPEC §2: 2 s and 10 min,
  // ~31 minutes over 8 dispatches before the DLQ). Only tests and drills shrink these.
  RETRY_BACKOFF_BASE_MS: positiveInt(DEFAULT_BACKOFF_SCALE.baseMs),
  RETRY_BACKOFF_MAX_MS: positiveInt(DEFAULT_BACKOFF_SCALE.maxMs),
};
