// The alert rules and the dashboard only show their mistakes in a running Prometheus and Grafana,
// so they are checked here: the rules load and pass their promtool unit tests (one firing and one
// quiet case per alert), each alert has a runbook line, and every metric name in the rules' and
// the dashboard's PromQL is one the services register (found in their sources) or one
// prom-client's default collectors or Prometheus itself provide — anything else must be declared
// as a metric the alert or panel needs.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetricsRegistry } from '@hub/observability';

const root = fileURLToPath(new URL('../../', import.meta.url));
const here = `${root}deploy/observability/`;
const rulesFile = `${here}prometheus/alerts.yaml`;
const rulesTestFile = `${here}prometheus/alerts.test.yaml`;

// A fresh CI machine has no promtool: install Debian's prometheus package (fast when present).
execFileSync('bash', [`${root}deploy/ensure-debian-tool.sh`, 'promtool', 'prometheus'], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, NO_DAEMON: '1' },
});

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = parse(readFileSync(rulesFile, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
const alerts = rules.groups.flatMap((g) => g.rules);

interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  targets?: { expr: string; refId: string }[];
  panels?: Panel[];
}
const dashboard = JSON.parse(readFileSync(`${here}grafana/notification-hub.json`, 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string }[] };
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

// ---------------------------------------------------------------------------------------------
// What the services export.

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = `${dir}/${entry}`;
    if (entry === 'node_modules') return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(entry) && !/\.test\.ts$/.test(entry) ? [path] : [];
  });
}

/** Series names a prom-client metric of this type exposes. */
function exposedNames(name: string, type: string): string[] {
  if (type === 'histogram') return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
  if (type === 'summary') return [name, `${name}_sum`, `${name}_count`];
  return [name];
}

/** `new Counter({ name: '...' })` and its kin in services/ and shared/, by name. */
const registered = new Map<string, string>();
for (const file of [...sourceFiles(`${root}services`), ...sourceFiles(`${root}shared`)]) {
  const source = readFileSync(file, 'utf8');
  for (const match of source.matchAll(/new\s+(Counter|Gauge|Histogram|Summary)\b[^({]*\(\s*\{\s*name:\s*'([^']+)'/g)) {
    registered.set(match[2]!, match[1]!.toLowerCase());
  }
}

async function exportedSeries(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const [name, type] of registered) for (const series of exposedNames(name, type)) names.add(series);
  // The default collectors every service's registry has (shared/observability createMetricsRegistry).
  const registry = createMetricsRegistry('observability-test');
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const series of exposedNames(metric.name, String(metric.type))) names.add(series);
  }
  // Made by Prometheus for every target.
  for (const name of ['up', 'scrape_duration_seconds', 'scrape_samples_scraped']) names.add(name);
  return names;
}

/** Metric names selected in a PromQL expression (lezer-promql, the grammar Prometheus's UI uses). */
function metricNames(expr: string): { names: string[]; errors: string[] } {
  const names: string[] = [];
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(`syntax error at ${node.from} in ${expr}`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.push(expr.slice(node.from, node.to));
    },
  });
  return { names, errors };
}

/** Grafana's variables replaced by values PromQL accepts. */
const asPromQL = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replaceAll('$__range', '6h').replaceAll('$namespace', '.*');

// ---------------------------------------------------------------------------------------------

describe('deploy/observability/prometheus/alerts.yaml', () => {
  it('loads in Prometheus (promtool check rules)', () => {
    const out = execFileSync('promtool', ['check', 'rules', rulesFile], { encoding: 'utf8' });
    expect(out).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('passes its promtool unit tests', () => {
    const out = execFileSync('promtool', ['test', 'rules', rulesTestFile], { encoding: 'utf8', cwd: `${here}prometheus` });
    expect(out).toContain('SUCCESS');
  });

  it('has, for every alert, a promtool case where it fires and one where it stays quiet', () => {
    const tests = parse(readFileSync(rulesTestFile, 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${alert} never fires in a test`).toBe(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), `${alert} has no quiet case`).toBe(true);
    }
  });

  it('covers what the hub needs watched', () => {
    const byMetric = (metric: string) => alerts.filter((a) => metricNames(a.expr).names.includes(metric)).map((a) => a.alert);
    expect(byMetric('outbox_lag_seconds')).toEqual(['NotificationHubOutboxLagHigh']);
    expect(byMetric('vendor_circuit_open')).toEqual(['NotificationHubVendorCircuitOpen']);
    expect(byMetric('up').length).toBeGreaterThanOrEqual(2);
    expect(byMetric('http_requests_total').length).toBeGreaterThanOrEqual(2);
    expect(byMetric('delivery_outcomes_total').length).toBeGreaterThanOrEqual(2);
    expect(byMetric('consumer_messages_total')).toEqual(['NotificationHubPoisonMessages']);
    expect(byMetric('kafka_consumergroup_lag')).toEqual(['NotificationHubConsumerLagHigh']);
  });

  it('gives every alert a severity, a summary and a one-line runbook', () => {
    for (const alert of alerts) {
      expect(['warning', 'critical'], alert.alert).toContain(alert.labels?.severity);
      expect(alert.annotations?.summary, alert.alert).toBeTruthy();
      expect(alert.annotations?.runbook, alert.alert).toMatch(/^\S[^\n]+$/);
      expect(alert.alert).toMatch(/^NotificationHub[A-Z]\w+$/);
    }
  });

  it('is what the PrometheusRule of extras/prometheus-operator loads', () => {
    const rule = parse(readFileSync(`${root}deploy/k8s/extras/prometheus-operator/prometheus-rule.yaml`, 'utf8'));
    expect(rule.spec.groups).toEqual(rules.groups);
  });
});

describe('metric names', () => {
  it('finds the metrics the services register', () => {
    // A sanity check of the grep itself: if these move, the source scan is broken, not the rules.
    for (const name of ['outbox_lag_seconds', 'vendor_circuit_open', 'delivery_outcomes_total', 'http_request_duration_seconds', 'consumer_messages_total']) {
      expect(registered.has(name), name).toBe(true);
    }
  });

  it('uses in the alert rules only metrics the services export, or says which it needs', async () => {
    const exported = await exportedSeries();
    for (const alert of alerts) {
      const { names, errors } = metricNames(alert.expr);
      expect(errors, alert.alert).toEqual([]);
      const missing = [...new Set(names.filter((n) => !exported.has(n)))];
      const declared = alert.annotations?.needs_metric ?? '';
      expect(missing.filter((n) => !declared.startsWith(n)), alert.alert).toEqual([]);
      if (declared) expect(missing, `${alert.alert} declares a metric it does not need`).not.toEqual([]);
    }
  });

  it('uses in the dashboard only metrics the services export, or says which a panel needs', async () => {
    const exported = await exportedSeries();
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const { names, errors } = metricNames(asPromQL(target.expr));
        expect(errors, panel.title).toEqual([]);
        expect(names.length, `${panel.title} ${target.refId}`).toBeGreaterThan(0);
        const missing = [...new Set(names.filter((n) => !exported.has(n)))];
        for (const name of missing) expect(panel.description ?? '', panel.title).toContain(`Needs metric: ${name}`);
      }
    }
  });

  it('lists exactly one metric the code does not export: consumer lag', () => {
    const needed = [
      ...alerts.map((a) => a.annotations?.needs_metric),
      ...panels.map((p) => /Needs metric: (\w+)/.exec(p.description ?? '')?.[1]),
    ].filter(Boolean).map((s) => s!.split(' ')[0]);
    expect([...new Set(needed)]).toEqual(['kafka_consumergroup_lag']);
  });
});

describe('deploy/observability/grafana/notification-hub.json', () => {
  it('has unique panel ids, a Prometheus datasource variable and a query on every panel', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.uid).toBe('notification-hub');
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace']);
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets!) expect(target.expr, panel.title).toContain('namespace=~"$namespace"');
    }
  });

  it('shows per-channel deliveries, latency, lags, the DLQ and the breakers', () => {
    const used = new Set(panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(asPromQL(t.expr)).names)));
    for (const metric of [
      'ingest_notifications_total',
      'consumer_messages_total',
      'delivery_outcomes_total',
      'delivery_dispatch_duration_seconds_bucket',
      'http_request_duration_seconds_bucket',
      'outbox_lag_seconds',
      'kafka_consumergroup_lag',
      'admin_actions_total',
      'vendor_circuit_open',
    ]) {
      expect(used.has(metric), metric).toBe(true);
    }
  });
});
