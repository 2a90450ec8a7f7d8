import { Counter, Gauge, type Registry } from '@hub/observability';

export interface AdminMetrics {
  actions: Counter<'action' | 'outcome'>;
  accessDenied: Counter<'reason'>;
  bulkItems: Counter<'operation' | 'outcome'>;
  bulkJobsRunning: Gauge<'operation'>;
}

/** The admin-api's own metrics, registered on the process registry (never the global one). */
export function createAdminMetrics(registry: Registry): AdminMetrics {
  return {
    actions: new Counter({
      name: 'admin_actions_total',
      help: 'Admin actions by action (DLQ_REPLAY, DLQ_DISCARD, ...) and outcome',
      labelNames: ['action', 'outcome'],
      registers: [registry],
    }),
    accessDenied: new Counter({
      name: 'admin_access_denied_total',
      help: 'Admin requests refused before reaching a handler, by reason (rate_limited, unauthorized)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    bulkItems: new Counter({
      name: 'admin_bulk_job_items_processed_total',
      help: 'Attempts handled by bulk jobs in this process, by operation and outcome',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    bulkJobsRunning: new Gauge({
      name: 'admin_bulk_jobs_running',
      help: 'Bulk jobs this process holds the lease of and is working on',
      labelNames: ['operation'],
      registers: [registry],
    }),
  };
}
