import type { Logger } from 'pino';
import { maskAddress } from '@hub/domain';
import type { DeliveryRequested } from '@hub/messaging';
import { Counter, Histogram, inSpan, SpanKind, traceContextOf, tracerOf, type Registry } from '@hub/observability';
import { asVendorError } from '@hub/vendors';
import type { DispatchOutcome } from '@hub/attempts';
import type { DeliveryStore } from './delivery-store.ts';
import { NotSentError, type ProtectedVendor } from './vendor-call.ts';

export interface DeliveryDeps {
  store: DeliveryStore;
  vendor: ProtectedVendor;
  logger: Logger;
  metrics: DispatchMetrics;
  /** True once the dispatcher is stopping: claimed attempts not yet at the vendor are released. */
  stopping: () => boolean;
}

/**
 * One `delivery.requested` message: wait for a send slot of the vendor's rate cap, claim the
 * attempt (a duplicate or stale message claims nothing and is done; the lease starts only now,
 * once a call may start), call the vendor while the lease covers it, record the outcome and its
 * events in one transaction, then complete the notification if that was its last open attempt.
 * A dispatch that never reached the vendor (breaker open, worker stopping) is released, not
 * counted. The consumer commits the offset only after this resolves.
 */
export async function handleDelivery(deps: DeliveryDeps, message: DeliveryRequested, headers: Record<string, string> = {}): Promise<void> {
  // The trace of the request that asked for this delivery, carried by the Kafka record (ADR
  // 0024): the vendor calls and the outcome's write are children of this span.
  return inSpan(
    tracer(),
    `dispatch ${message.channel}`,
    {
      kind: SpanKind.CONSUMER,
      parent: traceContextOf(headers),
      attributes: { 'hub.channel': message.channel, 'hub.attempt_id': message.attemptId, 'hub.notification_id': message.notificationId, 'hub.retry_count': message.retryCount },
    },
    () => dispatch(deps, message),
  );
}

const tracer = () => tracerOf('@hub/dispatching');

async function dispatch(deps: DeliveryDeps, message: DeliveryRequested): Promise<void> {
  await deps.vendor.acquire();
  const attempt = await deps.store.claim({ attemptId: message.attemptId, retryCount: message.retryCount });
  // Built only when a line is written: most deliveries write none (success is a debug line).
  const log = () => deps.logger.child({ attemptId: message.attemptId, notificationId: message.notificationId });
  if (!attempt) {
    // Redelivered after the outcome committed but before the notification's completion (a
    // crash in between): finish that step. A no-op when other attempts are still open.
    await deps.store.completeIfDone(message.notificationId);
    deps.metrics.outcomes.inc({ channel: message.channel, outcome: 'stale' });
    if (deps.logger.isLevelEnabled('debug')) log().debug({ retryCount: message.retryCount }, 'stale or duplicate delivery message ignored');
    return;
  }

  const started = performance.now();
  let outcome: DispatchOutcome;
  try {
    const accepted = await deps.vendor.send(
      {
        attemptId: attempt.id,
        channel: attempt.channel,
        address: attempt.address,
        title: attempt.rendered_title,
        body: attempt.rendered_body,
        htmlBody: attempt.rendered_html_body,
        kind: attempt.kind,
        recipientId: attempt.recipient_id,
        payload: attempt.payload,
        platform: attempt.platform ?? null,
        providerTemplateCode: attempt.provider_template_code,
        buttons: attempt.buttons,
      },
      { deadline: attempt.lease_expires_at.getTime(), slotTaken: true, stopping: deps.stopping },
    );
    outcome = { kind: 'succeeded', vendorMessageId: accepted.vendorMessageId };
    if (accepted.vendorMessageId === null) log().warn({ vendor: deps.vendor.name }, 'vendor accepted the message without a message id');
  } catch (err) {
    if (err instanceof NotSentError) {
      outcome = { kind: 'not_sent', retryAt: err.retryAt, reason: err.message };
    } else {
      const error = asVendorError(err);
      outcome = { kind: 'failed', errorClass: error.errorClass, detail: error.detail };
    }
  }

  const status = await inSpan(tracer(), 'record outcome', { attributes: { 'hub.outcome': outcome.kind } }, async (span) => {
    const recorded = await deps.store.record(attempt, outcome);
    span.setAttribute('hub.status', recorded ?? 'lease_lost');
    return recorded;
  });
  const label = status ?? 'lease_lost';
  deps.metrics.duration.observe({ channel: attempt.channel, outcome: label }, (performance.now() - started) / 1_000);
  deps.metrics.outcomes.inc({ channel: attempt.channel, outcome: label });
  const fields = () => ({
    status: label,
    retryCount: attempt.retry_count,
    address: maskAddress(attempt.channel, attempt.address),
    vendor: deps.vendor.name,
    ...(outcome.kind === 'failed' ? { errorClass: outcome.errorClass, detail: outcome.detail } : {}),
    ...(outcome.kind === 'not_sent' ? { reason: outcome.reason, retryAt: outcome.retryAt.toISOString() } : {}),
  });
  if (status === null) log().warn(fields(), 'attempt was recovered by the relay before its outcome was recorded');
  else if (status !== 'SUCCEEDED') log().info(fields(), outcome.kind === 'not_sent' ? 'delivery not sent, released for later' : 'delivery failed');
  else if (deps.logger.isLevelEnabled('debug')) log().debug(fields(), 'delivery dispatched');
  // Last, before the offset may be committed: a crash before this step redelivers the message,
  // whose claim then finds the attempt final and completes the notification (above). A failure
  // completed its notification in the outcome transaction already.
  if (status === 'SUCCEEDED') await deps.store.completeIfDone(attempt.notification_id);
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
      help: 'Delivery messages by channel and result: SUCCEEDED, PENDING (retry, or released unsent), EXHAUSTED, stale, lease_lost',
      labelNames: ['channel', 'outcome'],
      registers: [registry],
    }),
  };
}
