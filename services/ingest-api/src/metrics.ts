import { Counter, type Registry } from '@hub/observability';

export interface IngestMetrics {
  notifications: Counter<'kind' | 'outcome'>;
  rateLimitDenials: Counter<'channel'>;
  idempotencyConflicts: Counter;
  deliveryAcks: Counter<'vendor' | 'outcome'>;
}

/** Business counters; request counts by route and status come from httpMetrics. */
export function createIngestMetrics(registry: Registry): IngestMetrics {
  return {
    notifications: new Counter({
      name: 'ingest_notifications_total',
      help: 'Notifications by kind and outcome (fanned_out, scheduled, suppressed)',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
    rateLimitDenials: new Counter({
      name: 'ingest_rate_limit_denials_total',
      help: 'Requests denied by the per recipient × channel rate limit, by the channel that denied',
      labelNames: ['channel'],
      registers: [registry],
    }),
    idempotencyConflicts: new Counter({
      name: 'ingest_idempotency_conflicts_total',
      help: 'Requests answered 409 DUPLICATE_REQUEST because their Idempotency-Key was used',
      registers: [registry],
    }),
    deliveryAcks: new Counter({
      name: 'ingest_delivery_acks_total',
      help: 'Vendor delivery receipts by vendor and outcome (applied, ignored, rejected)',
      labelNames: ['vendor', 'outcome'],
      registers: [registry],
    }),
  };
}
