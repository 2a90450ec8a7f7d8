import { Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per process (never prom-client's global one), with Node's default metrics. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // The event-loop delay histogram samples on a timer at this precision: prom-client's default,
  // 10 ms, cost 0.8 % of a core per idle process (measured), most of an idle hub's budget; 100 ms
  // still cost 0.08 % per process, over half a percent for the seven services. 500 ms is two
  // samples a second, 120 a minute behind the dashboard's p99: a stall that lasts shows.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 500 });
  return registry;
}
