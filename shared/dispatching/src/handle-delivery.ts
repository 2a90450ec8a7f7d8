import type { Logger } from 'pino';
import type { BackoffScale } from '@hub/domain';
import { maskAddress } from '@hub/domain';
import type { Db } from '@hub/db';
import type { DeliveryRequested, Topics } from '@hub/messaging';
import { Counter, Histogram, type Registry } from '@hub/observability';
import { asVendorError } from '@hub/vendors';
import { claimAttempt, recordOutcome, type DispatchOutcome } from './attempts.ts';
import type { ProtectedVendor } from './vendor-call.ts';

export interface DeliveryDeps {
  db: Db;
  topics: Topics;
  vendor: ProtectedVendor;
  clock: () => Date;
  logger: Logger;
  metrics: DispatchMetrics;
  /** How long a claimed attempt belongs to this worker before the relay may recover it. */
  leaseMs: number;
  backoff: BackoffScale;
}

/**
 * One `delivery.requested` message: claim the attempt (a duplicate or stale message claims
 * nothing and is done), call the vendor, then record the outcome and its events in one
 * transaction. The consumer commits the offset only after this resolves.
 */
export async function handleDelivery(deps: DeliveryDeps, message: DeliveryRequested): Promise<void> {
  const attempt = await claimAttempt(deps.db, {
    attemptId: message.attemptId,
    retryCount: message.retryCount,
    leaseMs: deps.leaseMs,
    now: deps.clock(),
  });
  const log = deps.logger.child({ attemptId: message.attemptId, notificationId: message.notificationId });
  if (!attempt) {
    deps.metrics.outcomes.inc({ channel: message.channel, outcome: 'stale' });
    log.debug({ retryCount: message.retryCount }, 'stale or duplicate delivery message ignored');
    return;
  }

  const started = performance.now();
  let outcome: DispatchOutcome;
  try {
    const accepted = await deps.vendor.send({
      attemptId: attempt.id,
      channel: attempt.channel,
      address: attempt.address,
      title: attempt.rendered_title,
      body: attempt.rendered_body,
    });
    outcome = { kind: 'succeeded', vendorMessageId: accepted.vendorMessageId };
  } catch (err) {
    const error = asVendorError(err);
    outcome = { kind: 'failed', errorClass: error.errorClass, detail: error.detail };
  }

  const status = await recordWithRetry(deps, () =>
    deps.db.transaction().execute((tx) =>
      recordOutcome(tx, { topics: deps.topics, now: deps.clock(), backoff: deps.backoff }, attempt, outcome),
    ),
  );
  const label = status ?? 'lease_lost';
  deps.metrics.duration.observe({ channel: attempt.channel, outcome: label }, (performance.now() - started) / 1_000);
  deps.metrics.outcomes.inc({ channel: attempt.channel, outcome: label });
  const fields = {
    status: label,
    retryCount: attempt.retry_count,
    address: maskAddress(attempt.channel, attempt.address),
    vendor: deps.vendor.name,
    ...(outcome.kind === 'failed' ? { errorClass: outcome.errorClass, detail: outcome.detail } : {}),
  };
  if (status === null) log.warn(fields, 'attempt was recovered by the relay before its outcome was recorded');
  else if (status === 'SUCCEEDED') log.debug(fields, 'delivery dispatched');
  else log.info(fields, 'delivery failed');
}

/**
 * The vendor has been called: losing its answer to a database blip would mean sending again
 * after the lease. So the outcome transaction is retried here for a while (it is conditional,
 * hence safe to repeat) before the error goes up to the consumer, which retries the message.
 */
async function recordWithRetry<T>(deps: Pick<DeliveryDeps, 'logger'>, work: () => Promise<T>): Promise<T> {
  for (let failures = 0; ; failures++) {
    try {
      return await work();
    } catch (err) {
      if (failures >= 5) throw err;
      deps.logger.warn({ err, failures: failures + 1 }, 'recording a delivery outcome failed, retrying');
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** failures));
    }
  }
}

export interface DispatchMetrics {
  duration: Histogram;
  outcomes: Counter;
}

export function createDispatchMetrics(registry: Registry): DispatchMetrics {
  return {
    duration: new Histogram({
      name: 'delivery_dispatch_duration_seconds',
      help: 'Vendor call (with in-dispatch retries) to recorded outcome, by channel and resulting status',
      labelNames: ['channel', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    outcomes: new Counter({
      name: 'delivery_outcomes_total',
      help: 'Delivery messages by channel and result: SUCCEEDED, PENDING (retry), EXHAUSTED, stale, lease_lost',
      labelNames: ['channel', 'outcome'],
      registers: [registry],
    }),
  };
}
