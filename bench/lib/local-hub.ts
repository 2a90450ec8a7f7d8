// The whole hub on this machine for a benchmark: a fresh database (migrated) on the shared
// Postgres, a fresh topic namespace on the shared broker, a Redis key prefix of its own, and the
// seven services as separate processes with mock vendors, each on a free 127.0.0.1 port. Every
// process it spawns is ended by its own ChildProcess at stop(); the database and the topics are
// removed. Used by `npm run load -- --start` and `npm run bench:cost`.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { createDb, migrateToLatest, openPostgres } from '@hub/db';
import { createKafka, createTopics, deleteTopicsWithPrefix, ensureTopics } from '@hub/messaging';
import { bundleServices, serviceEntry } from '../../deploy/build/bundle.ts';
import { stopChild, untilReady } from '../../shared/testing/src/children.ts';
import { freePort } from '../../shared/testing/src/ports.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The services' bundles, built by the first hub this process starts. */
let bundled: Promise<void> | undefined;

/** The seven services, in the order they are started. */
export const SERVICES = ['ingest-api', 'admin-api', 'outbox-relay', 'dispatcher-push', 'dispatcher-email', 'dispatcher-sms', 'dispatcher-kakao'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** The receipt secrets a started hub runs with (the `npm start` development defaults). */
export const WEBHOOK_SECRETS = {
  fcm: process.env.WEBHOOK_SECRET_FCM ?? 'dev-fcm-secret',
  ses: process.env.WEBHOOK_SECRET_SES ?? 'dev-ses-secret',
  twilio: process.env.WEBHOOK_SECRET_TWILIO ?? 'dev-twilio-secret',
  kakao: process.env.WEBHOOK_SECRET_KAKAO ?? 'dev-kakao-secret',
};

/** Infrastructure settings, with the same defaults as the other benches. */
export const infra = {
  adminUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim()),
};

export const withDatabase = (url: string, name: string) => Object.assign(new URL(url), { pathname: `/${name}` }).toString();

export interface RunningService {
  name: ServiceName;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Milliseconds from spawn() to the first 200 of /readyz. */
  readyMs: number;
}

export interface LocalHubOptions {
  /** Tag in the database, namespace and prefix names (hub_<tag>_<id>). */
  tag: string;
  /** Extra environment for every service (rate limits, pool size, tuning knobs under test). */
  env?: Record<string, string>;
  /** 'sequential' measures each service's start alone; 'parallel' is quicker. */
  start?: 'sequential' | 'parallel';
  say?: (line: string) => void;
}

/** A started hub: its URLs, its processes, and stop() that removes everything it created. */
export class LocalHub {
  readonly id = randomBytes(3).toString('hex');
  readonly dbName: string;
  readonly dbUrl: string;
  readonly namespace: string;
  readonly redisPrefix: string;
  readonly services: RunningService[] = [];
  private readonly options: LocalHubOptions;
  private readonly say: (line: string) => void;
  private created = false;

  constructor(options: LocalHubOptions) {
    this.options = options;
    this.say = options.say ?? (() => {});
    this.dbName = `hub_${options.tag}_${this.id}`;
    this.dbUrl = withDatabase(infra.adminUrl, this.dbName);
    this.namespace = `${options.tag}${this.id}`;
    this.redisPrefix = `${options.tag}${this.id}:`;
  }

  service(name: ServiceName): RunningService {
    const found = this.services.find((s) => s.name === name);
    if (!found) throw new Error(`${name} is not running`);
    return found;
  }

  get ingestUrl(): string {
    return `http://127.0.0.1:${this.service('ingest-api').port}`;
  }

  /** The database, migrated, and the topics; no service yet. */
  async prepare(): Promise<void> {
    const admin = openPostgres(infra.adminUrl, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`create database "${this.dbName}"`);
    } finally {
      await admin.end();
    }
    this.created = true;
    const handle = createDb({ url: this.dbUrl, max: 1, applicationName: 'bench-migrate' });
    try {
      await migrateToLatest(handle.db);
    } finally {
      await handle.close();
    }
    const kafka = createKafka({ brokers: infra.brokers, clientId: `bench-${this.id}`, logger: pino({ level: 'silent' }) });
    await ensureTopics(kafka, createTopics(this.namespace).all(), { partitions: 8 });
  }

  /** Spawns the seven services and waits until each answers /readyz with 200. */
  async startServices(): Promise<void> {
    // As production runs them: bundles, built from these sources once per process (bench:cost
    // starts a hub per run).
    await (bundled ??= bundleServices());
    const start = async (name: ServiceName) => {
      const port = await freePort();
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        // As the image and the deploy scripts run them (unset: compiled on every start).
        ...(process.env.NODE_COMPILE_CACHE ? { NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE } : {}),
        // V8 flags under test (e.g. --max-semi-space-size), for the services only.
        ...(process.env.HUB_NODE_OPTIONS ? { NODE_OPTIONS: process.env.HUB_NODE_OPTIONS } : {}),
        DATABASE_URL: this.dbUrl,
        REDIS_URL: infra.redisUrl,
        REDIS_KEY_PREFIX: this.redisPrefix,
        KAFKA_BROKERS: infra.brokers.join(','),
        KAFKA_TOPIC_NAMESPACE: this.namespace,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        VENDOR_MODE: 'mock',
        ADMIN_AUTH_TOKEN: `bench-admin-${this.id}-token`,
        WEBHOOK_SECRET_FCM: WEBHOOK_SECRETS.fcm,
        WEBHOOK_SECRET_SES: WEBHOOK_SECRETS.ses,
        WEBHOOK_SECRET_TWILIO: WEBHOOK_SECRETS.twilio,
        WEBHOOK_SECRET_KAKAO: WEBHOOK_SECRETS.kakao,
        ...this.options.env,
      };
      const spawnedAt = performance.now();
      const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', serviceEntry(name)], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      if (child.pid === undefined) throw new Error(`${name} could not be spawned`);
      const service: RunningService = { name, port, pid: child.pid, child, readyMs: NaN };
      this.services.push(service);
      const state = await untilReady(child, `http://127.0.0.1:${port}`, { description: `${name} ready within 60 s`, timeoutMs: 60_000, intervalMs: 10 });
      if (state === 'exited') throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode} before it was ready`);
      service.readyMs = performance.now() - spawnedAt;
      this.say(`${name} ready in ${service.readyMs.toFixed(0)} ms (pid ${child.pid}, port ${port})`);
    };
    if (this.options.start === 'parallel') await Promise.all(SERVICES.map(start));
    else for (const name of SERVICES) await start(name);
  }

  /** SIGTERM to every service (SIGKILL after 15 s), then the database, topics and Redis keys go. */
  async stop(): Promise<void> {
    await this.stopServices();
    if (!this.created) return;
    const admin = openPostgres(infra.adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists "${this.dbName}" with (force)`).catch((err: unknown) => this.say(`could not drop ${this.dbName}: ${String(err)}`));
    await admin.end();
    const kafka = createKafka({ brokers: infra.brokers, clientId: `bench-${this.id}-cleanup`, logger: pino({ level: 'silent' }) });
    await deleteTopicsWithPrefix(kafka, `${this.namespace}.`).catch((err: unknown) => this.say(`could not delete topics ${this.namespace}.*: ${String(err)}`));
    await deleteRedisPrefix(infra.redisUrl, this.redisPrefix);
  }

  async stopServices(): Promise<void> {
    await Promise.all(
      this.services.splice(0).map(({ child }) => stopChild(child, { killAfterMs: 15_000 })),
    );
  }
}

export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
