// The rules every hub workload in deploy/k8s must follow, as a checker over rendered manifests
// (plain objects from `kubectl kustomize`). Used by k8s.test.ts; pure, no I/O. Each violation
// starts with a stable code so the test of the checker can name what it expects to be caught.

/** The slice of the Kubernetes API objects the checks read. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: any }[];
  envFrom?: { prefix?: string; configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command?: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string }[];
}

interface Probe {
  httpGet?: { path?: string; port: string | number };
}

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
  seccompProfile?: { type: string };
}

export interface PodSpec {
  terminationGracePeriodSeconds?: number;
  automountServiceAccountToken?: boolean;
  securityContext?: SecurityContext;
  topologySpreadConstraints?: unknown[];
  initContainers?: Container[];
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string }; emptyDir?: { sizeLimit?: string } }[];
}

/** Where a variable's value comes from once the manifests are applied. */
export type EnvSource =
  | { from: 'value'; value: string }
  | { from: 'configMap'; name: string; key: string; value: string | undefined }
  | { from: 'secret'; name: string; key: string; optional: boolean };

/** The pod template of a Deployment or Job. */
export function podSpecOf(workload: K8sObject): PodSpec {
  return workload.spec.template.spec as PodSpec;
}

/** Every variable of `container`, explicit ones overriding envFrom ones as the kubelet does. */
export function containerEnv(container: Container, configMaps: K8sObject[]): Map<string, EnvSource> {
  const env = new Map<string, EnvSource>();
  const configMap = (name: string) => configMaps.find((c) => c.metadata.name === name);
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const data = configMap(from.configMapRef.name)?.data ?? {};
      for (const [key, value] of Object.entries(data)) {
        env.set(`${from.prefix ?? ''}${key}`, { from: 'configMap', name: from.configMapRef.name, key, value });
      }
    }
    if (from.secretRef) throw new Error(`${container.name}: envFrom secretRef hands every key to the process; reference secret keys one by one`);
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined || !variable.valueFrom) {
      env.set(variable.name, { from: 'value', value: variable.value ?? '' });
    } else if (variable.valueFrom.configMapKeyRef) {
      const { name, key } = variable.valueFrom.configMapKeyRef;
      env.set(variable.name, { from: 'configMap', name, key, value: configMap(name)?.data?.[key] });
    } else if (variable.valueFrom.secretKeyRef) {
      const { name, key, optional } = variable.valueFrom.secretKeyRef;
      env.set(variable.name, { from: 'secret', name, key, optional: optional === true });
    }
  }
  return env;
}

/** Seconds a preStop hook waits: `sleep N` as an exec command, or the native sleep action. */
export function preStopSeconds(container: Container): number | undefined {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const command = preStop?.exec?.command ?? [];
  const match = /^(?:.*\s)?sleep\s+(\d+(?:\.\d+)?)\s*$/.exec(command.join(' '));
  return match ? Number(match[1]) : undefined;
}

function probeOn(probe: Probe | undefined, path: string, container: Container): boolean {
  const get = probe?.httpGet;
  if (!get || get.path !== path) return false;
  return (container.ports ?? []).some((p) => p.name === get.port || p.containerPort === get.port);
}

function checkContainer(kind: string, container: Container, pod: PodSpec, say: (code: string, detail: string) => void): void {
  const where = `${kind} container ${container.name}`;
  for (const bound of ['requests', 'limits'] as const) {
    for (const resource of ['cpu', 'memory']) {
      if (!container.resources?.[bound]?.[resource]) say(`resources.${bound}.${resource}`, `${where} has no ${bound}.${resource}`);
    }
  }
  const own = container.securityContext ?? {};
  const podLevel = pod.securityContext ?? {};
  if ((own.runAsNonRoot ?? podLevel.runAsNonRoot) !== true) say('securityContext.runAsNonRoot', `${where} may run as root`);
  // The image's USER is the name "node": the kubelet cannot verify runAsNonRoot without a uid.
  const uid = own.runAsUser ?? podLevel.runAsUser;
  if (uid === undefined || uid === 0) say('securityContext.runAsUser', `${where} has no non-zero numeric runAsUser`);
  if (own.readOnlyRootFilesystem !== true) say('securityContext.readOnlyRootFilesystem', `${where} has a writable root filesystem`);
  if (own.allowPrivilegeEscalation !== false) say('securityContext.allowPrivilegeEscalation', `${where} allows privilege escalation`);
  if (!own.capabilities?.drop?.includes('ALL')) say('securityContext.capabilities', `${where} does not drop ALL capabilities`);
  const seccomp = (own.seccompProfile ?? podLevel.seccompProfile)?.type;
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') say('securityContext.seccompProfile', `${where} has no RuntimeDefault seccomp profile`);
  if (own.readOnlyRootFilesystem === true && !(container.volumeMounts ?? []).some((m) => m.mountPath === '/tmp')) {
    say('tmpVolume', `${where} has a read-only root and no writable /tmp`);
  }
}

/**
 * The policy violations of a Deployment or Job (an empty list when it complies). `configMaps`
 * are the rendered ConfigMaps, to read SHUTDOWN_TIMEOUT_MS where envFrom brings it.
 */
export function checkWorkload(workload: K8sObject, configMaps: K8sObject[]): string[] {
  const violations: string[] = [];
  const say = (code: string, detail: string) => violations.push(`${code}: ${workload.kind}/${workload.metadata.name}: ${detail}`);
  const pod = podSpecOf(workload);
  const longRunning = workload.kind === 'Deployment';

  if (pod.automountServiceAccountToken !== false) say('serviceAccountToken', 'mounts a service account token no process uses');
  for (const container of pod.initContainers ?? []) checkContainer('init', container, pod, say);
  for (const container of pod.containers) checkContainer('main', container, pod, say);

  if (!longRunning) {
    if (typeof workload.spec.activeDeadlineSeconds !== 'number') say('job.activeDeadlineSeconds', 'may run forever');
    return violations;
  }
  if (!pod.topologySpreadConstraints?.length) say('topologySpread', 'has no topologySpreadConstraints');
  for (const container of pod.containers) {
    const where = `container ${container.name}`;
    if (!probeOn(container.startupProbe, '/healthz', container)) say('probe.startup', `${where} has no startupProbe on /healthz`);
    if (!probeOn(container.readinessProbe, '/readyz', container)) say('probe.readiness', `${where} has no readinessProbe on /readyz`);
    if (!probeOn(container.livenessProbe, '/healthz', container)) say('probe.liveness', `${where} has no livenessProbe on /healthz`);
    const env = containerEnv(container, configMaps);
    const serviceMain = env.get('SERVICE_MAIN');
    if (serviceMain?.from !== 'value' || !/^dist\/[a-z-]+\/main\.mjs$/.test(serviceMain.value)) {
      say('serviceMain', `${where} does not set SERVICE_MAIN to dist/<name>/main.mjs`);
    }
    const preStop = preStopSeconds(container);
    if (preStop === undefined || preStop <= 0) say('preStop', `${where} has no preStop sleep`);
    const shutdown = env.get('SHUTDOWN_TIMEOUT_MS');
    const shutdownMs = shutdown?.from === 'value' || shutdown?.from === 'configMap' ? Number(shutdown.value) : Number.NaN;
    if (!Number.isFinite(shutdownMs) || shutdownMs <= 0) {
      say('shutdownTimeout', `${where} does not set SHUTDOWN_TIMEOUT_MS explicitly`);
      continue;
    }
    // The kubelet counts the preStop hook inside the grace period, then SIGTERM starts the drain.
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    if (!(grace > (preStop ?? 0) + shutdownMs / 1_000)) {
      say('grace', `${where}: terminationGracePeriodSeconds ${grace} <= preStop ${preStop ?? 0} s + SHUTDOWN_TIMEOUT_MS ${shutdownMs} ms`);
    }
  }
  return violations;
}

/** A Kubernetes quantity in base units: cores for "250m", bytes for "512Mi". */
export function parseQuantity(quantity: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(quantity));
  if (!match) throw new Error(`not a quantity: ${quantity}`);
  const factor: Record<string, number> = {
    '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40,
  };
  return Number(match[1]) * factor[match[2] ?? '']!;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Whether a label selector matches `labels` (an empty selector matches everything). */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    if (operator === 'In' && !(has && values.includes(labels[key]!))) return false;
    if (operator === 'NotIn' && has && values.includes(labels[key]!)) return false;
    if (operator === 'Exists' && !has) return false;
    if (operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/**
 * The egress a pod with `labels` gets from `policies`: "TCP/5432"-style entries, "any" for a
 * rule without ports. Pods no Egress policy selects are unrestricted ("unrestricted").
 */
export function allowedEgress(labels: Record<string, string>, policies: K8sObject[]): Set<string> {
  const applying = policies.filter((p) => selects(p.spec.podSelector, labels) && (p.spec.policyTypes ?? []).includes('Egress'));
  if (applying.length === 0) return new Set(['unrestricted']);
  const allowed = new Set<string>();
  for (const policy of applying) {
    for (const rule of policy.spec.egress ?? []) {
      if (!rule.ports?.length) allowed.add('any');
      for (const port of rule.ports ?? []) allowed.add(`${port.protocol ?? 'TCP'}/${port.port}`);
    }
  }
  return allowed;
}

/** The ingress rules that apply to a pod with `labels` (an empty list with a deny-all policy). */
export function ingressRules(labels: Record<string, string>, policies: K8sObject[]): { from?: unknown[]; ports?: { port: string | number }[] }[] | 'unrestricted' {
  const applying = policies.filter((p) => selects(p.spec.podSelector, labels) && (p.spec.policyTypes ?? []).includes('Ingress'));
  if (applying.length === 0) return 'unrestricted';
  return applying.flatMap((p) => p.spec.ingress ?? []);
}
