// The Kafka client over TLS and SASL, against a broker of this file's own: the shared test broker
// speaks plaintext only. The file makes a CA and a broker certificate with openssl, starts a
// single-node KRaft broker from the jars deploy/local/kafka.sh caches (an SSL listener, a
// SASL_SSL listener with PLAIN and SCRAM users, and a plaintext one for its own use), and
// connects the way the services do: env → @hub/config's schema → kafkaConnection → createKafka.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaConnection, kafkaEnvSchema, parseEnv } from '@hub/config';
import { createTestContext, freePort, pollUntil, seedNotification, startService, type StartedService, type TestContext } from '@hub/testing';
import { createKafka, ensureTopics, type Kafka } from './kafka.ts';
import { createTopics } from './topics.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const USER = 'hub';
const PASSWORD = 'hub-secret-9f4c';

interface Broker {
  child: ChildProcess;
  exited: Promise<unknown>;
  internal: string;
  ssl: string;
  saslSsl: string;
}

let dir: string;
let caFile: string;
let broker: Broker | undefined;
let ctx: TestContext;
const services: StartedService[] = [];
/** The connection without the CA, started as soon as the broker is up: kafkajs retries it ~13 s. */
let untrusted: Promise<string | undefined>;

/** A CA and a certificate for 127.0.0.1 signed by it; the broker's PEM keystore holds key + chain. */
async function makeCertificates(): Promise<{ caFile: string; keystore: string }> {
  const file = (name: string) => path.join(dir, name);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1', '-subj', '/CN=notification-hub test CA']);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('broker.key'), '-out', file('broker.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(file('broker.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', ['x509', '-req', '-in', file('broker.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('broker.pem'), '-days', '1', '-extfile', file('broker.ext')]);
  const keystore = file('keystore.pem');
  writeFileSync(keystore, ['broker.key', 'broker.pem', 'ca.pem'].map((f) => readFileSync(file(f), 'utf8')).join(''));
  return { caFile: file('ca.pem'), keystore };
}

/**
 * A KRaft cluster id: 16 random bytes in base64url, never starting with '-'. One that does is
 * read by the storage tool as an option ("--cluster-id/-t: expected one argument"), which failed
 * a CI run about once in 64; Kafka's own `random-uuid` skips those ids the same way.
 */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

async function startBroker(keystore: string): Promise<Broker> {
  const { stdout } = await run('bash', [path.join(repoRoot, 'deploy/local/kafka.sh'), 'libs'], { timeout: 600_000 });
  const lib = stdout.trim().split('\n').at(-1)!;
  const [internal, ssl, saslSsl, controller] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const host = '127.0.0.1';
  const props = path.join(dir, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@${host}:${controller}`,
      `listeners=INTERNAL://${host}:${internal},SSL://${host}:${ssl},SASL_SSL://${host}:${saslSsl},CONTROLLER://${host}:${controller}`,
      `advertised.listeners=INTERNAL://${host}:${internal},SSL://${host}:${ssl},SASL_SSL://${host}:${saslSsl}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=INTERNAL',
      'listener.security.protocol.map=INTERNAL:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
      `log.dirs=${path.join(dir, 'data')}`,
      // KIP-651: the key and its certificate chain in one PEM file, no JKS needed.
      'ssl.keystore.type=PEM',
      `ssl.keystore.location=${keystore}`,
      'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${USER}="${PASSWORD}";`,
      'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      'num.network.threads=1',
      'num.io.threads=2',
    ].join('\n'),
  );
  const log4j = path.join(dir, 'log4j.properties');
  writeFileSync(
    log4j,
    'log4j.rootLogger=WARN, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\n' +
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n',
  );
  const jvm = ['-Xms64m', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true', `-Dlog4j.configuration=file:${log4j}`, '-cp', `${lib}/*`];
  // SCRAM credentials live in the cluster metadata; in KRaft they are written at format time.
  const clusterId = newClusterId();
  await run(
    'java',
    [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props,
      '--add-scram', `SCRAM-SHA-256=[name=${USER},password=${PASSWORD}]`, '--add-scram', `SCRAM-SHA-512=[name=${USER},password=${PASSWORD}]`],
    { timeout: 60_000 },
  );
  const logFile = path.join(dir, 'broker.log');
  const out = openSync(logFile, 'a');
  const child = spawn('java', [...jvm, `-Dkafka.logs.dir=${dir}`, 'kafka.Kafka', props], { stdio: ['ignore', out, out] });
  closeSync(out);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const started: Broker = { child, exited, internal: `${host}:${internal}`, ssl: `${host}:${ssl}`, saslSsl: `${host}:${saslSsl}` };
  const plain = createKafka({ brokers: [started.internal], clientId: 'tls-test-probe', logger: ctx.logger.child({ probe: true }) });
  await pollUntil(
    'the TLS test broker to answer',
    async () => {
      if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}`);
      const admin = plain.admin();
      await admin.connect();
      try {
        return (await admin.describeCluster()).brokers.length === 1;
      } finally {
        await admin.disconnect();
      }
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  ).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message}; broker log:\n${readFileSync(logFile, 'utf8').slice(-5_000)}`, { cause: err });
  });
  return started;
}

/** A client built the way main.ts builds one: from env variables, through the config schema. */
function kafkaFromEnv(env: Record<string, string>): Kafka {
  return createKafka({ ...kafkaConnection(parseEnv(kafkaEnvSchema, env)), clientId: 'tls-test', logger: ctx.logger });
}

const sasl = (mechanism: string) => ({
  KAFKA_BROKERS: broker!.saslSsl,
  KAFKA_SSL: 'true',
  KAFKA_SSL_CA_FILE: caFile,
  KAFKA_SASL_MECHANISM: mechanism,
  KAFKA_SASL_USERNAME: USER,
  KAFKA_SASL_PASSWORD: PASSWORD,
});

async function roundTrip(kafka: Kafka, topic: string): Promise<string> {
  await ensureTopics(kafka, [topic], { partitions: 1 });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const value = `hello over TLS ${randomBytes(4).toString('hex')}`;
  await producer.send({ topic, acks: -1, messages: [{ key: 'k', value }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `${topic}-group`, sessionTimeout: 6_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let received: string | undefined;
    await consumer.run({ eachMessage: async ({ message }) => void (received = message.value?.toString()) });
    return await pollUntil('the record to come back', () => received, { timeoutMs: 30_000 });
  } finally {
    await consumer.disconnect();
  }
}

/** Runs `npm run topics` (the CLI file itself) with `env` and `args`; resolves with its exit code and output. */
function topicsCli(env: Record<string, string>, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'shared/messaging/src/cli.ts'), ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hub-kafka-tls-'));
  ctx = await createTestContext({ createTopics: false });
  const certificates = await makeCertificates();
  caFile = certificates.caFile;
  broker = await startBroker(certificates.keystore);
  // KAFKA_SSL_REJECT_UNAUTHORIZED defaults to true: Node's public CAs do not know this one.
  const admin = kafkaFromEnv({ KAFKA_BROKERS: broker.ssl, KAFKA_SSL: 'true' }).admin();
  untrusted = admin
    .connect()
    .then(
      () => undefined,
      (err: Error & { cause?: Error }) => `${err.message} ${err.cause?.message ?? ''}`,
    )
    .finally(() => admin.disconnect());
});

afterAll(async () => {
  for (const service of services) service.process.kill('SIGKILL');
  await Promise.all(services.map((service) => service.process.exited));
  await untrusted;
  if (broker && broker.child.exitCode === null) {
    // Only the broker this file started, by its PID; a throwaway broker needs no clean stop.
    broker.child.kill('SIGKILL');
    await broker.exited;
  }
  await ctx?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Kafka over TLS', () => {
  it('produces and consumes over TLS, trusting the CA named by KAFKA_SSL_CA_FILE', async () => {
    const kafka = kafkaFromEnv({ KAFKA_BROKERS: broker!.ssl, KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: caFile });
    const topic = `${ctx.namespace}.tls-only`;
    const value = await roundTrip(kafka, topic);
    expect(value).toMatch(/^hello over TLS /);
  });

  it('produces and consumes over SASL_SSL with SCRAM-SHA-512', async () => {
    const value = await roundTrip(kafkaFromEnv(sasl('scram-sha-512')), `${ctx.namespace}.sasl`);
    expect(value).toMatch(/^hello over TLS /);
  });

  it.each(['plain', 'scram-sha-256'])('authenticates with SASL %s over TLS and writes a record', async (mechanism) => {
    const kafka = kafkaFromEnv(sasl(mechanism));
    const topic = `${ctx.namespace}.sasl-${mechanism}`;
    await ensureTopics(kafka, [topic], { partitions: 1 });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ value: mechanism }] });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    expect(offsets.map((o) => o.high)).toEqual(['1']);
  });

  it('refuses wrong SASL credentials', async () => {
    const admin = kafkaFromEnv({ ...sasl('scram-sha-512'), KAFKA_SASL_PASSWORD: 'not-the-password' }).admin();
    await expect(admin.connect()).rejects.toThrow(/authentication failed/i);
    await admin.disconnect();
  });

  it('refuses a broker whose certificate it cannot verify when no CA is given', async () => {
    expect(await untrusted).toMatch(/self-signed certificate/);
  });

  it('creates the topics with npm run topics over SASL_SSL, sized by its flags', async () => {
    const namespace = `${ctx.namespace}-cli`;
    const env = { ...sasl('scram-sha-512'), KAFKA_TOPIC_NAMESPACE: namespace, KAFKA_PARTITIONS: '2' };

    const refused = await topicsCli(env, ['--replication-factor', '3']);
    expect(refused.code, refused.output).toBe(64);
    expect(refused.output).toContain('replication factor 3 needs at least that many brokers; the cluster has 1');

    const created = await topicsCli(env, ['--partitions', '3']);
    expect(created.code, created.output).toBe(0);
    const wanted = createTopics(namespace).all();
    const admin = kafkaFromEnv(sasl('scram-sha-512')).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: wanted });
      expect(topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual(wanted.map((t) => [t, 3]).sort());
      // Set on the topic itself, not inherited from the broker's default.
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: wanted[0]!, configNames: ['min.insync.replicas'] }],
      });
      expect(resources[0]!.configEntries).toMatchObject([{ configName: 'min.insync.replicas', configValue: '1', isDefault: false }]);
    } finally {
      await admin.disconnect();
    }

    const grown = await topicsCli(env, ['--partitions', '4']);
    expect(grown.code, grown.output).toBe(0);
    expect(JSON.parse(grown.output.trim().split('\n').at(-1)!)).toMatchObject({ partitions: 4, created: [], grown: wanted });
  });

  it('runs outbox-relay and a dispatcher against the SASL_SSL listener: a notification is delivered through it', async () => {
    const namespace = ctx.namespace;
    const topics = createTopics(namespace);
    await ensureTopics(kafkaFromEnv(sasl('scram-sha-512')), topics.all(), { partitions: 1 });
    const env = { ...ctx.env, ...sasl('scram-sha-512'), KAFKA_TOPIC_NAMESPACE: namespace };
    services.push(
      ...(await Promise.all([
        startService('outbox-relay', { ...env, RELAY_POLL_INTERVAL_MS: '200' }),
        startService('dispatcher-email', { ...env, VENDOR_MODE: 'mock' }),
      ])),
    );

    const seeded = await seedNotification(ctx.database.db, topics, {
      deliveries: [{ channel: 'EMAIL', address: 'success@simulator.amazonses.com' }],
    });

    const attempt = await pollUntil(
      'the attempt to be delivered through the TLS broker',
      async () => {
        const row = await ctx.database.db.selectFrom('delivery_attempts').select(['status']).where('id', '=', seeded.attemptIds[0]!).executeTakeFirstOrThrow();
        return row.status === 'SUCCEEDED' ? row : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(attempt.status).toBe('SUCCEEDED');
  });
});
