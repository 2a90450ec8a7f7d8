// The Kubernetes manifests cannot be applied on a machine without a cluster, so what would only
// show there is checked here: every overlay renders with `kubectl kustomize`, every object
// validates against its API schema (the CRDs against theirs), every workload follows the policy
// in policy.ts, the variables are exactly those the services' zod schemas read, the network
// policies open what each service needs and nothing more, and prod has what prod needs.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { Channel } from '@hub/domain';
import { createTopics } from '@hub/messaging';
import { requiredVendorVariables, type VendorConfig } from '@hub/vendors';
import { kafkaEnv } from '@hub/config';
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as batch from 'kubernetes-models/batch/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as keda from '@kubernetes-models/keda/keda.sh/v1alpha1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { ingestConfigSchema } from '../../services/ingest-api/src/config.ts';
import { adminConfigSchema } from '../../services/admin-api/src/config.ts';
import { relayConfigSchema } from '../../services/outbox-relay/src/config.ts';
import { dispatcherConfigSchema } from '../../shared/dispatching/src/config.ts';
import {
  allowedEgress,
  checkWorkload,
  containerEnv,
  ingressRules,
  parseQuantity,
  podSpecOf,
  selects,
  type Container,
  type K8sObject,
} from './policy.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const k8s = `${root}deploy/k8s/`;

// A fresh CI machine has no kubectl: install Debian's before rendering (fast when present).
execFileSync('bash', [`${root}deploy/ensure-debian-tool.sh`, 'kubectl', 'kubernetes-client'], { stdio: ['ignore', 'inherit', 'inherit'] });

function render(dir: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', `${k8s}${dir}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  return parseAllDocuments(out).map((d) => d.toJSON() as K8sObject).filter(Boolean);
}

const renders = {
  dev: render('overlays/dev'),
  prod: render('overlays/prod'),
  keda: render('extras/keda'),
  'prometheus-operator': render('extras/prometheus-operator'),
};
type RenderName = keyof typeof renders;
const withWorkloads: RenderName[] = ['dev', 'prod', 'keda'];

const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name}`);
  return found;
};
const workloadsOf = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job');
const mainContainer = (deployment: K8sObject) => podSpecOf(deployment).containers[0]!;

// ---------------------------------------------------------------------------------------------
// The variables each process accepts, read from the code.

type ZodLike = { safeParse: (v: unknown) => { success: boolean }; parse: (v: unknown) => unknown };
/** The object schema's shape, unwrapping refinements/pipes (zod 4 `.shape`, `def.in`, `def.schema`). */
function shapeOf(schema: unknown): Record<string, ZodLike> {
  let current: any = schema;
  for (let depth = 0; depth < 8 && current; depth++) {
    if (current.shape && typeof current.shape === 'object') return current.shape as Record<string, ZodLike>;
    const def = current._zod?.def ?? current.def ?? current._def;
    current = def?.in ?? def?.schema ?? def?.innerType;
  }
  throw new Error('no object schema found inside');
}

const CHANNELS: Record<string, Channel> = { push: 'PUSH', email: 'EMAIL', sms: 'SMS', kakao: 'KAKAO_ALIMTALK' };
const serviceNames = readdirSync(`${root}services`).sort();
/** The service's whole config schema, refinements included (what main.ts parses). */
function configSchemaOf(service: string): ZodLike {
  if (service === 'ingest-api') return ingestConfigSchema;
  if (service === 'admin-api') return adminConfigSchema;
  if (service === 'outbox-relay') return relayConfigSchema;
  const channel = CHANNELS[service.replace(/^dispatcher-/, '')];
  if (!channel) throw new Error(`no config schema known for ${service}`);
  return dispatcherConfigSchema(channel);
}
const schemaOf = (service: string) => shapeOf(configSchemaOf(service));

/** Variables the image itself sets (ENV in deploy/docker/Dockerfile), which a manifest may override. */
const dockerfile = readFileSync(`${root}deploy/docker/Dockerfile`, 'utf8');
const imageEnv = Object.fromEntries(
  [...(/^ENV ((?:.*\\\n)*.*)$/m.exec(dockerfile)?.[1] ?? '').matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]),
);

/** Names a CLI's `parseEnv(z.object({...}))` (or `loadConfigOrExit(...)`) declares, spreads of @hub/config groups included. */
function cliVariables(file: string): string[] {
  const source = readFileSync(`${root}${file}`, 'utf8');
  const call = /(?:parseEnv|loadConfigOrExit)\(\s*z\.object\(\{([\s\S]*?)\}\)/.exec(source)?.[1] ?? '';
  const names = [...call.matchAll(/\b([A-Z][A-Z0-9_]+)\s*:/g)].map((m) => m[1]!);
  if (/\.\.\.kafkaEnv\b/.test(call)) names.push(...Object.keys(kafkaEnv));
  return names;
}
const waitScript = readFileSync(`${k8s}base/wait-for-setup.mjs`, 'utf8');
const waitScriptVariables = [...new Set([...waitScript.matchAll(/process\.env\.([A-Z_]+)/g)].map((m) => m[1]!))];

const configMapsOf = (objects: K8sObject[]) => ofKind(objects, 'ConfigMap');

// ---------------------------------------------------------------------------------------------

describe('kubectl kustomize', () => {
  const schemas = new Map<string, { new (data: any): { validate(): void } }>();
  for (const module of [core, apps, batch, policyV1, autoscaling, networking, keda, monitoring]) {
    for (const model of Object.values(module) as any[]) {
      if (typeof model === 'function' && typeof model.apiVersion === 'string' && typeof model.kind === 'string') {
        schemas.set(`${model.apiVersion}/${model.kind}`, model);
      }
    }
  }

  /** kustomize v5 folds long base64 Secret values over lines, which the API server's decoder skips. */
  const normalized = (object: K8sObject): K8sObject =>
    object.kind === 'Secret' && object.data
      ? { ...object, data: Object.fromEntries(Object.entries(object.data).map(([k, v]) => [k, v.replace(/\s+/g, '')])) }
      : object;

  it.each(Object.keys(renders) as RenderName[])('renders %s into objects that validate against their API schemas', (name) => {
    const objects = renders[name];
    expect(objects.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const object of objects) {
      const Model = schemas.get(`${object.apiVersion}/${object.kind}`);
      if (!Model) {
        problems.push(`${object.apiVersion}/${object.kind} ${object.metadata.name}: no schema to validate it against`);
        continue;
      }
      try {
        new Model(normalized(object)).validate();
      } catch (err) {
        problems.push(`${object.kind}/${object.metadata.name}: ${(err as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('puts every namespaced object of an overlay in its namespace', () => {
    for (const [name, namespace] of [['dev', 'notification-hub-dev'], ['prod', 'notification-hub'], ['keda', 'notification-hub']] as const) {
      for (const object of renders[name].filter((o) => o.kind !== 'Namespace')) {
        expect(object.metadata.namespace, `${name}: ${object.kind}/${object.metadata.name}`).toBe(namespace);
      }
      const ns = named(renders[name], 'Namespace', namespace);
      expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    }
  });
});

describe.each(withWorkloads)('the %s workloads', (renderName) => {
  const objects = renders[renderName];
  const configMaps = configMapsOf(objects);
  const deployments = ofKind(objects, 'Deployment');

  it.each(workloadsOf(objects).map((w) => [`${w.kind}/${w.metadata.name}`, w] as const))('%s follows the workload policy', (_, workload) => {
    expect(checkWorkload(workload, configMaps)).toEqual([]);
  });

  it('runs one Deployment per service, each as itself from the one image', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(serviceNames);
    for (const deployment of deployments) {
      const name = deployment.metadata.name;
      const env = containerEnv(mainContainer(deployment), configMaps);
      // The service's bundle in the image (deploy/build/bundle.ts), built from its main.ts.
      expect(env.get('SERVICE_MAIN')).toEqual({ from: 'value', value: `dist/${name}/main.mjs` });
      expect(existsSync(`${root}services/${name}/src/main.ts`)).toBe(true);
      const images = new Set([...podSpecOf(deployment).containers, ...(podSpecOf(deployment).initContainers ?? [])].map((c) => c.image));
      expect(images.size, name).toBe(1);
    }
  });

  it('gives each service the port its config schema defaults to, on the port the probes use', () => {
    for (const deployment of deployments) {
      const container = mainContainer(deployment);
      const defaultPort = Number(schemaOf(deployment.metadata.name).PORT!.parse(undefined));
      expect(container.ports).toEqual([{ name: 'http', containerPort: defaultPort, protocol: 'TCP' }]);
      expect(containerEnv(container, configMaps).get('PORT')).toEqual({ from: 'value', value: String(defaultPort) });
    }
  });

  it('sets only variables the service reads, and every one it requires', () => {
    for (const deployment of deployments) {
      const service = deployment.metadata.name;
      const shape = schemaOf(service);
      const env = containerEnv(mainContainer(deployment), configMaps);
      const unknown = [...env.keys()].filter((name) => !(name in shape) && !(name in imageEnv));
      expect(unknown, `${service} gets variables its schema does not read`).toEqual([]);
      const required = Object.keys(shape).filter((name) => !shape[name]!.safeParse(undefined).success);
      expect(required.filter((name) => !env.has(name)), `${service} misses required variables`).toEqual([]);
    }
  });

  it('configures every service so that its config schema accepts it (it would start, not exit 78)', () => {
    const secrets = ofKind(objects, 'Secret');
    /** dev: the generated value; prod (an external Secret): a well-formed stand-in. */
    const secretValue = (name: string, key: string): string | undefined => {
      const data = secrets.find((s) => s.metadata.name === name)?.data?.[key];
      if (data !== undefined) return Buffer.from(data.replace(/\s+/g, ''), 'base64').toString('utf8');
      if (secrets.length > 0) return undefined;
      if (key === 'DATABASE_URL') return 'postgres://hub:secret@postgres.example.internal:5432/notification_hub';
      if (key === 'REDIS_URL') return 'rediss://:secret@redis.example.internal:6379';
      return `${key.toLowerCase()}-stand-in-value`;
    };
    for (const deployment of deployments) {
      const env: Record<string, string> = {};
      for (const [name, source] of containerEnv(mainContainer(deployment), configMaps)) {
        const value = source.from === 'secret' ? secretValue(source.name, source.key) : source.value;
        if (value !== undefined) env[name] = value;
      }
      const result = configSchemaOf(deployment.metadata.name).safeParse(env) as { success: boolean; error?: { issues: unknown[] } };
      expect(result.error?.issues ?? [], deployment.metadata.name).toEqual([]);
    }
  });

  it('gives each dispatcher the vendor variables its http adapter cannot run without', () => {
    for (const deployment of deployments.filter((d) => d.metadata.name.startsWith('dispatcher-'))) {
      const channel = CHANNELS[deployment.metadata.name.replace(/^dispatcher-/, '')]!;
      const env = containerEnv(mainContainer(deployment), configMaps);
      const value = (name: string) => {
        const source = env.get(name);
        return source && source.from !== 'secret' ? source.value : undefined;
      };
      const config = { VENDOR_MODE: 'http', EMAIL_PROVIDER: value('EMAIL_PROVIDER') ?? 'ses' } as VendorConfig;
      const needed = requiredVendorVariables(channel, config);
      expect(needed.length).toBeGreaterThan(0);
      for (const name of needed) expect(env.get(name)?.from, `${deployment.metadata.name}: ${name}`).toBe('secret');
      if (config.EMAIL_PROVIDER === 'ses' && channel === 'EMAIL') {
        for (const name of requiredVendorVariables(channel, { ...config, EMAIL_PROVIDER: 'smtp' })) expect(env.has(name), name).toBe(true);
      }
    }
  });

  it('keeps the image flags in NODE_OPTIONS and caps the heap under the memory limit', () => {
    for (const deployment of deployments) {
      const container = mainContainer(deployment);
      const options = containerEnv(container, configMaps).get('NODE_OPTIONS');
      if (!options) continue;
      expect(options.from).toBe('configMap');
      const value = options.from === 'configMap' ? options.value ?? '' : '';
      for (const flag of imageEnv.NODE_OPTIONS!.split(' ')) expect(value.split(' ')).toContain(flag);
      const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(value)?.[1]);
      const limitMiB = parseQuantity(container.resources!.limits!.memory!) / 2 ** 20;
      expect(heapMiB, deployment.metadata.name).toBeLessThanOrEqual(limitMiB * 0.8);
    }
  });

  it('holds every service until the setup Jobs ran (ADR 0019): migrations always, topics for Kafka users', () => {
    for (const deployment of deployments) {
      const init = podSpecOf(deployment).initContainers ?? [];
      expect(init.map((c) => c.name), deployment.metadata.name).toEqual(['wait-for-setup']);
      const env = containerEnv(init[0]!, configMaps);
      expect([...env.keys()].filter((n) => !waitScriptVariables.includes(n))).toEqual([]);
      const usesKafka = containerEnv(mainContainer(deployment), configMaps).has('KAFKA_BROKERS');
      expect(env.get('WAIT_FOR_TOPICS'), deployment.metadata.name).toEqual({ from: 'value', value: String(usesKafka) });
      expect(env.get('DATABASE_URL')?.from).toBe('secret');
      if (usesKafka) {
        for (const name of ['KAFKA_BROKERS', 'KAFKA_TOPIC_NAMESPACE']) {
          expect(env.get(name), name).toEqual(containerEnv(mainContainer(deployment), configMaps).get(name));
        }
      }
      const script = podSpecOf(deployment).volumes?.find((v) => v.name === 'wait-for-setup')?.configMap?.name ?? '';
      expect(named(objects, 'ConfigMap', script).data?.['wait-for-setup.mjs']).toBe(waitScript);
      expect(init[0]!.command).toEqual(['node', '/opt/notification-hub/wait-for-setup.mjs']);
    }
  });

  it('migrates with the migrate command and creates topics with the topics command, with only their variables', () => {
    const jobs = ofKind(objects, 'Job');
    const commands = Object.fromEntries(jobs.map((j) => [j.metadata.name, podSpecOf(j).containers[0]!.command]));
    expect(commands).toEqual({
      'notification-hub-migrate': ['node', 'shared/db/src/cli.ts'],
      'notification-hub-topics': ['node', 'shared/messaging/src/cli.ts'],
    });
    for (const [job, cli] of [['notification-hub-migrate', 'shared/db/src/cli.ts'], ['notification-hub-topics', 'shared/messaging/src/cli.ts']] as const) {
      const accepted = cliVariables(cli);
      expect(accepted.length, cli).toBeGreaterThan(0);
      const env = containerEnv(podSpecOf(named(objects, 'Job', job)).containers[0]!, configMaps);
      expect([...env.keys()].sort(), job).toEqual([...accepted].sort());
    }
  });

  it('resolves every ConfigMap and Secret reference', () => {
    const secrets = ofKind(objects, 'Secret');
    for (const workload of workloadsOf(objects)) {
      const pod = podSpecOf(workload);
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        for (const [name, source] of containerEnv(container, configMaps)) {
          const where = `${workload.metadata.name}/${container.name} ${name}`;
          if (source.from === 'configMap') expect(source.value, where).toBeDefined();
          if (source.from === 'secret') {
            // prod's Secret is managed outside the manifests; dev generates it.
            expect(source.name, where).toMatch(/^notification-hub-secrets/);
            if (renderName === 'dev' && !source.optional) {
              expect(secrets.find((s) => s.metadata.name === source.name)?.data?.[source.key], where).toBeDefined();
            }
          }
        }
      }
    }
  });

  it('lets each workload reach exactly the dependencies its variables name', () => {
    const policies = ofKind(objects, 'NetworkPolicy');
    for (const workload of workloadsOf(objects)) {
      const pod = podSpecOf(workload);
      const labels = workload.spec.template.metadata.labels as Record<string, string>;
      const names = new Set(
        [...(pod.initContainers ?? []), ...pod.containers].flatMap((c: Container) => [...containerEnv(c, configMaps).keys()]),
      );
      const kafkaPorts = () => {
        const brokers = containerEnv(pod.containers[0]!, configMaps).get('KAFKA_BROKERS');
        const list = brokers?.from === 'configMap' ? brokers.value ?? '' : '';
        return list.split(',').map((b) => `TCP/${b.trim().split(':')[1]}`);
      };
      const expected = new Set(['UDP/53', 'TCP/53']);
      if (names.has('DATABASE_URL')) expected.add('TCP/5432');
      if (names.has('REDIS_URL')) expected.add('TCP/6379');
      if (names.has('KAFKA_BROKERS')) for (const port of kafkaPorts()) expected.add(port);
      // Vendors for the dispatchers, the JWKS (INGEST_JWKS_URL) for ingest-api.
      const service = workload.metadata.name;
      if (service.startsWith('dispatcher-') || service === 'ingest-api') expected.add('TCP/443');
      expect([...allowedEgress(labels, policies)].sort(), service).toEqual([...expected].sort());
    }
  });

  it('takes traffic on the APIs from anywhere, and on the workers only from Prometheus', () => {
    const policies = ofKind(objects, 'NetworkPolicy');
    for (const deployment of deployments) {
      const labels = deployment.spec.template.metadata.labels as Record<string, string>;
      const rules = ingressRules(labels, policies);
      expect(rules).not.toBe('unrestricted');
      if (rules === 'unrestricted') continue;
      for (const rule of rules) expect(rule.ports?.map((p) => p.port)).toEqual(['http']);
      const open = rules.filter((r) => !r.from);
      const isApi = ['ingest-api', 'admin-api'].includes(deployment.metadata.name);
      expect(open.length > 0, deployment.metadata.name).toBe(isApi);
      expect(rules.some((r) => JSON.stringify(r.from ?? []).includes('prometheus')), deployment.metadata.name).toBe(true);
    }
    for (const job of ofKind(objects, 'Job')) {
      // Only the Prometheus rule selects a Job's pod, on an `http` port a Job does not have.
      const rules = ingressRules(job.spec.template.metadata.labels, policies);
      expect(rules !== 'unrestricted' && rules.every((r) => r.from), job.metadata.name).toBe(true);
      expect(podSpecOf(job).containers.every((c) => !c.ports?.length)).toBe(true);
    }
  });

  it('serves the two APIs through a Service on their http port, and no worker', () => {
    const services = ofKind(objects, 'Service');
    expect(services.map((s) => s.metadata.name).sort()).toEqual(['admin-api', 'ingest-api']);
    for (const service of services) {
      const deployment = named(objects, 'Deployment', service.metadata.name);
      expect(selects({ matchLabels: service.spec.selector }, deployment.spec.template.metadata.labels)).toBe(true);
      expect(service.spec.ports).toEqual([{ name: 'http', port: mainContainer(deployment).ports![0]!.containerPort, targetPort: 'http', protocol: 'TCP' }]);
    }
  });

  it('sizes the grace period from SHUTDOWN_TIMEOUT_MS, which is set explicitly', () => {
    const common = named(objects, 'ConfigMap', 'notification-hub-common');
    expect(common.data?.SHUTDOWN_TIMEOUT_MS).toBe('25000');
  });
});

describe('the dev overlay', () => {
  const objects = renders.dev;

  it('runs one small replica of everything, with mock vendors and a generated placeholder Secret', () => {
    for (const deployment of ofKind(objects, 'Deployment')) {
      expect(deployment.spec.replicas ?? 1, deployment.metadata.name).toBe(1);
      const limits = mainContainer(deployment).resources!.limits!;
      expect(parseQuantity(limits.memory!)).toBeLessThanOrEqual(384 * 2 ** 20);
      expect(parseQuantity(limits.cpu!)).toBeLessThanOrEqual(0.5);
    }
    expect(ofKind(objects, 'HorizontalPodAutoscaler')).toEqual([]);
    expect(ofKind(objects, 'PodDisruptionBudget')).toEqual([]);
    expect(named(objects, 'ConfigMap', 'notification-hub-dispatchers').data?.VENDOR_MODE).toBe('mock');
    expect(ofKind(objects, 'Secret').map((s) => s.metadata.name)).toEqual([expect.stringMatching(/^notification-hub-secrets-/)]);
  });
});

describe('the prod overlay', () => {
  const objects = renders.prod;
  const deployments = ofKind(objects, 'Deployment');

  it('pins the image to a tag or digest of a registry', () => {
    for (const workload of workloadsOf(objects)) {
      const pod = podSpecOf(workload);
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        expect(container.image, workload.metadata.name).toMatch(/^[a-z0-9.-]+(:\d+)?\/[a-z0-9./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/);
        expect(container.image).not.toMatch(/:(latest|dev)$/);
      }
    }
  });

  it('leaves the Secret to be managed outside the manifests', () => {
    expect(ofKind(objects, 'Secret')).toEqual([]);
  });

  it('autoscales the APIs on CPU from two replicas, and leaves their replica count to the autoscaler', () => {
    const hpas = ofKind(objects, 'HorizontalPodAutoscaler');
    expect(hpas.map((h) => h.spec.scaleTargetRef.name).sort()).toEqual(['admin-api', 'ingest-api']);
    for (const hpa of hpas) {
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.metrics.map((m: any) => m.resource?.name)).toEqual(['cpu']);
      expect(named(objects, 'Deployment', hpa.spec.scaleTargetRef.name).spec.replicas).toBeUndefined();
    }
  });

  it('runs at least two of the relay and of each dispatcher', () => {
    for (const deployment of deployments.filter((d) => !d.metadata.name.endsWith('-api'))) {
      expect(deployment.spec.replicas, deployment.metadata.name).toBeGreaterThanOrEqual(2);
    }
  });

  it('keeps one pod of every service through voluntary disruptions', () => {
    const budgets = ofKind(objects, 'PodDisruptionBudget');
    for (const deployment of deployments) {
      const matching = budgets.filter((b) => selects(b.spec.selector, deployment.spec.template.metadata.labels));
      expect(matching.map((b) => b.spec.minAvailable), deployment.metadata.name).toEqual([1]);
    }
  });

  it('gives production sizes: requests at most the limits, the APIs and workers at least 100m CPU', () => {
    for (const deployment of deployments) {
      const { requests, limits } = mainContainer(deployment).resources!;
      for (const resource of ['cpu', 'memory']) {
        expect(parseQuantity(requests![resource]!)).toBeLessThanOrEqual(parseQuantity(limits![resource]!));
      }
      expect(parseQuantity(requests!.cpu!)).toBeGreaterThanOrEqual(0.1);
    }
  });

  it('replicates the topics (a single broker is dev only)', () => {
    expect(Number(named(objects, 'ConfigMap', 'notification-hub-topics').data?.KAFKA_REPLICATION_FACTOR)).toBeGreaterThanOrEqual(3);
    expect(named(objects, 'ConfigMap', 'notification-hub-dispatchers').data?.VENDOR_MODE).toBe('http');
  });

  it('documents every Secret key it references in the README Deploy section', () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const deploy = /^## Deploy\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
    const keys = new Set<string>();
    for (const workload of workloadsOf(objects)) {
      const pod = podSpecOf(workload);
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        for (const source of containerEnv(container, configMapsOf(objects)).values()) if (source.from === 'secret') keys.add(source.key);
      }
    }
    expect(keys.size).toBeGreaterThan(10);
    expect([...keys].filter((key) => !deploy.includes(`\`${key}\``))).toEqual([]);
  });
});

describe('the KEDA example (extras/keda)', () => {
  const objects = renders.keda;
  const scaled = ofKind(objects, 'ScaledObject');
  const topics = createTopics(named(objects, 'ConfigMap', 'notification-hub-common').data?.KAFKA_TOPIC_NAMESPACE ?? '');
  const partitions = Number(named(objects, 'ConfigMap', 'notification-hub-topics').data?.KAFKA_PARTITIONS);

  it('scales each dispatcher on the lag of both its consumer groups, up to the partition count', () => {
    const dispatchers = ofKind(objects, 'Deployment').filter((d) => d.metadata.name.startsWith('dispatcher-'));
    expect(scaled.map((s) => s.spec.scaleTargetRef.name).sort()).toEqual(dispatchers.map((d) => d.metadata.name).sort());
    for (const object of scaled) {
      const channel = CHANNELS[object.spec.scaleTargetRef.name.replace(/^dispatcher-/, '')]!;
      const lanes = topics.deliveryLanes(channel);
      const group = topics.dispatcherGroup(channel);
      const triggers = object.spec.triggers.map((t: any) => ({ type: t.type, group: t.metadata.consumerGroup, topic: t.metadata.topic }));
      expect(triggers).toEqual([
        { type: 'kafka', group, topic: lanes.bulk },
        { type: 'kafka', group: `${group}.priority`, topic: lanes.priority },
      ]);
      for (const trigger of object.spec.triggers) {
        expect(trigger.metadata.bootstrapServersFromEnv).toBe('KAFKA_BROKERS');
        expect(Number(trigger.metadata.lagThreshold)).toBeGreaterThan(0);
      }
      expect(object.spec.maxReplicaCount).toBeLessThanOrEqual(partitions);
      expect(object.spec.minReplicaCount).toBeGreaterThanOrEqual(2);
    }
  });

  it("reads the lag with the dispatchers' own TLS and SASL settings", () => {
    const kafka = named(objects, 'ConfigMap', 'notification-hub-kafka').data ?? {};
    const kedaSasl: Record<string, string> = { '': 'none', plain: 'plaintext', 'scram-sha-256': 'scram_sha256', 'scram-sha-512': 'scram_sha512' };
    const sasl = kedaSasl[kafka.KAFKA_SASL_MECHANISM ?? '']!;
    for (const object of scaled) {
      for (const trigger of object.spec.triggers) {
        expect(trigger.metadata.tls ?? 'disable').toBe(kafka.KAFKA_SSL === 'true' ? 'enable' : 'disable');
        expect(trigger.metadata.sasl ?? 'none').toBe(sasl);
        if (sasl === 'none') continue;
        const auth = named(objects, 'TriggerAuthentication', trigger.authenticationRef?.name ?? '');
        const refs = Object.fromEntries(auth.spec.secretTargetRef.map((r: { parameter: string; name: string; key: string }) => [r.parameter, `${r.name}/${r.key}`]));
        expect(refs).toEqual({ username: 'notification-hub-secrets/KAFKA_SASL_USERNAME', password: 'notification-hub-secrets/KAFKA_SASL_PASSWORD' });
      }
    }
  });

  it('leaves the dispatchers replica count to KEDA and keeps the rest of prod', () => {
    for (const deployment of ofKind(objects, 'Deployment')) {
      const inProd = named(renders.prod, 'Deployment', deployment.metadata.name);
      if (deployment.metadata.name.startsWith('dispatcher-')) {
        expect(deployment.spec.replicas).toBeUndefined();
        expect({ ...deployment.spec, replicas: inProd.spec.replicas }).toEqual(inProd.spec);
      } else {
        expect(deployment).toEqual(inProd);
      }
    }
  });
});

describe('the Prometheus Operator objects (extras/prometheus-operator)', () => {
  const objects = renders['prometheus-operator'];

  it('scrape every service on its http port, with job set to the service name', () => {
    const [monitor] = ofKind(objects, 'PodMonitor');
    expect(monitor?.spec.jobLabel).toBe('app.kubernetes.io/name');
    expect(monitor?.spec.podMetricsEndpoints).toEqual([{ port: 'http', path: '/metrics', interval: '15s' }]);
    for (const deployment of ofKind(renders.prod, 'Deployment')) {
      const labels = deployment.spec.template.metadata.labels as Record<string, string>;
      expect(selects(monitor!.spec.selector, labels), deployment.metadata.name).toBe(true);
      expect(labels['app.kubernetes.io/name']).toBe(deployment.metadata.name);
      expect(mainContainer(deployment).ports?.map((p) => p.name)).toContain('http');
    }
    expect(objects.every((o) => o.metadata.namespace === 'notification-hub')).toBe(true);
  });
});

describe('the init container script', () => {
  it('is valid JavaScript that loads only what the image has, and reads kysely\'s own migration table', async () => {
    execFileSync(process.execPath, ['--check', `${k8s}base/wait-for-setup.mjs`]);
    // Every Kafka variable, so it connects as the services do (TLS, SASL).
    expect(waitScriptVariables.sort()).toEqual(['DATABASE_URL', ...Object.keys(kafkaEnv), 'WAIT_FOR_TOPICS'].sort());
    const db = await import('@hub/db');
    const config = await import('@hub/config');
    expect([typeof config.parseEnv, typeof config.kafkaConnection, typeof config.kafkaEnvSchema.safeParse]).toEqual(['function', 'function', 'function']);
    const messaging = await import('@hub/messaging');
    const migration = await import('kysely/migration');
    expect([typeof db.createDb, typeof messaging.createKafka, typeof messaging.createTopics]).toEqual(['function', 'function', 'function']);
    expect([typeof migration.Migrator, typeof migration.FileMigrationProvider]).toEqual(['function', 'function']);
    // The script asks kysely which migrations have run, as migrateToLatest does: same folder,
    // same default migration table, unordered migrations allowed on both sides.
    const migrate = readFileSync(`${root}shared/db/src/migrate.ts`, 'utf8');
    expect(migrate).toMatch(/'migrations'\)/);
    expect(migrate).not.toMatch(/migrationTable(Name|Schema)/);
    expect(migrate).toMatch(/allowUnorderedMigrations: true/);
    expect(waitScript).toMatch(/'shared\/db\/src\/migrations'/);
  });
});

// ---------------------------------------------------------------------------------------------
// The checker itself: a compliant workload with one required piece taken away at a time must be
// reported under that piece's code, or the policy tests above prove nothing.

describe('checkWorkload', () => {
  const configMaps = configMapsOf(renders.prod);
  const base = named(renders.prod, 'Deployment', 'ingest-api');
  const clone = () => structuredClone(base) as K8sObject;
  const main = (w: K8sObject) => podSpecOf(w).containers[0]!;
  const init = (w: K8sObject) => podSpecOf(w).initContainers![0]!;

  it('accepts the compliant workload the cases start from', () => {
    expect(checkWorkload(base, configMaps)).toEqual([]);
  });

  const cases: [string, string, (w: K8sObject) => void][] = [
    ['probe.startup', 'no startup probe', (w) => delete main(w).startupProbe],
    ['probe.readiness', 'no readiness probe', (w) => delete main(w).readinessProbe],
    ['probe.readiness', 'readiness on /healthz', (w) => (main(w).readinessProbe!.httpGet!.path = '/healthz')],
    ['probe.liveness', 'no liveness probe', (w) => delete main(w).livenessProbe],
    ['probe.liveness', 'liveness on /readyz (a dependency outage would restart every pod)', (w) => (main(w).livenessProbe!.httpGet!.path = '/readyz')],
    ['probe.startup', 'a probe on a port the container does not declare', (w) => (main(w).startupProbe!.httpGet!.port = 'metrics')],
    ['resources.requests.cpu', 'no CPU request', (w) => delete main(w).resources!.requests!.cpu],
    ['resources.requests.memory', 'no memory request', (w) => delete main(w).resources!.requests!.memory],
    ['resources.limits.cpu', 'no CPU limit', (w) => delete main(w).resources!.limits!.cpu],
    ['resources.limits.memory', 'no memory limit', (w) => delete main(w).resources!.limits!.memory],
    ['resources.limits.memory', 'an init container without limits', (w) => delete init(w).resources!.limits],
    ['preStop', 'no preStop hook', (w) => delete main(w).lifecycle],
    ['grace', 'the default 30 s grace period', (w) => delete podSpecOf(w).terminationGracePeriodSeconds],
    ['grace', 'grace equal to preStop + shutdown timeout (no margin)', (w) => (podSpecOf(w).terminationGracePeriodSeconds = 30)],
    ['shutdownTimeout', 'SHUTDOWN_TIMEOUT_MS left to its default', (w) => (main(w).envFrom = main(w).envFrom!.filter((f) => f.configMapRef?.name !== 'notification-hub-common'))],
    ['serviceMain', 'no SERVICE_MAIN', (w) => (main(w).env = main(w).env!.filter((e) => e.name !== 'SERVICE_MAIN'))],
    ['securityContext.runAsNonRoot', 'runAsNonRoot unset on pod and container', (w) => {
      delete podSpecOf(w).securityContext!.runAsNonRoot;
      delete main(w).securityContext!.runAsNonRoot;
    }],
    ['securityContext.runAsUser', 'no numeric uid for the image\'s named user', (w) => delete podSpecOf(w).securityContext!.runAsUser],
    ['securityContext.readOnlyRootFilesystem', 'a writable root filesystem', (w) => delete main(w).securityContext!.readOnlyRootFilesystem],
    ['securityContext.allowPrivilegeEscalation', 'privilege escalation allowed', (w) => (main(w).securityContext!.allowPrivilegeEscalation = true)],
    ['securityContext.capabilities', 'capabilities kept', (w) => delete main(w).securityContext!.capabilities],
    ['securityContext.capabilities', 'an init container keeping capabilities', (w) => delete init(w).securityContext!.capabilities],
    ['securityContext.seccompProfile', 'no seccomp profile on pod or container', (w) => {
      delete podSpecOf(w).securityContext!.seccompProfile;
      delete main(w).securityContext!.seccompProfile;
    }],
    ['tmpVolume', 'a read-only root without /tmp', (w) => (main(w).volumeMounts = [])],
    ['topologySpread', 'no topology spread', (w) => delete podSpecOf(w).topologySpreadConstraints],
    ['serviceAccountToken', 'a mounted service account token', (w) => delete podSpecOf(w).automountServiceAccountToken],
  ];

  it.each(cases)('reports %s for %s', (code, _, breakIt) => {
    const broken = clone();
    breakIt(broken);
    const violations = checkWorkload(broken, configMaps);
    expect(violations.map((v) => v.split(':')[0])).toContain(code);
  });

  it('reports a Job without resources, security context or deadline', () => {
    const job = structuredClone(named(renders.prod, 'Job', 'notification-hub-migrate')) as K8sObject;
    expect(checkWorkload(job, configMaps)).toEqual([]);
    delete podSpecOf(job).containers[0]!.resources;
    delete podSpecOf(job).containers[0]!.securityContext;
    delete job.spec.activeDeadlineSeconds;
    const codes = checkWorkload(job, configMaps).map((v) => v.split(':')[0]);
    for (const code of ['resources.requests.cpu', 'resources.limits.memory', 'securityContext.readOnlyRootFilesystem', 'securityContext.capabilities', 'job.activeDeadlineSeconds']) {
      expect(codes).toContain(code);
    }
  });
});
