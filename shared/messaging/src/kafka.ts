import net from 'node:net';
import tls from 'node:tls';
import { Kafka, logLevel, type Admin, type ISocketFactory, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConnection } from '@hub/config';

export type { Kafka, Admin };

// kafkajs warns on every idempotent producer whose retries are bounded. Ours are on purpose: an
// unbounded send would hold the relay's claim transaction open for a whole Kafka outage. A
// batch that fails is published again later and may be duplicated on the topic; consumers
// claim conditionally, so a duplicate does nothing (ADR 0003). Not worth a WARN on every start.
const EXPECTED_KAFKAJS_WARNINGS = new Set(['Limiting retries for the idempotent producer may invalidate EoS guarantees']);

/**
 * kafkajs's own socket factory plus TCP_NODELAY, which the Java client sets and kafkajs does
 * not. With Nagle on, a request written while an earlier one is unacknowledged on the same
 * connection (an offset commit or heartbeat behind a pending fetch) waits for the broker's
 * delayed ACK.
 */
const noDelaySocket: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
    : net.connect({ host, port }, onConnect);
  socket.setKeepAlive(true, 60_000);
  socket.setNoDelay(true);
  return socket;
};

/**
 * A kafkajs client whose own log lines go through the service's pino logger. `ssl` turns on
 * TLS (with a private CA, mutual TLS or, for tests only, no verification) and `sasl`
 * authentication; main.ts builds both from the env with `kafkaConnection` (@hub/config).
 */
export function createKafka(options: KafkaConnection & { clientId: string; logger: Logger }): Kafka {
  const log = options.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    // kafkajs hands `ssl` to noDelaySocket below, which passes it to tls.connect.
    ...(options.ssl ? { ssl: options.ssl } : {}),
    // kafkajs types each mechanism's options apart, but all three take the same username and
    // password: the cast only loses the pairing, which cannot be wrong here.
    ...(options.sasl ? { sasl: options.sasl as SASLOptions } : {}),
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    // Backoff between retries capped at 2 s (kafkajs's default cap is 30 s): after a broker
    // restart, consumers and producers are back within a few seconds of the broker answering
    // (the chaos suite measured up to 11 s with a 5 s cap).
    retry: { initialRetryTime: 200, maxRetryTime: 2_000, retries: 10 },
    socketFactory: noDelaySocket,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...fields } = entry;
        if (level === logLevel.ERROR) log.error(fields, message);
        else if (level === logLevel.WARN && !EXPECTED_KAFKAJS_WARNINGS.has(message)) log.warn(fields, message);
        else log.debug(fields, message);
      },
  });
}

/**
 * Creates any of `topics` that do not exist yet and waits until every partition has a leader;
 * safe to run on every deploy. kafkajs's own `waitForLeaders` gives up on the transient
 * UNKNOWN_TOPIC_OR_PARTITION a fresh topic answers while its metadata spreads, so we poll.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: string[],
  options: {
    partitions?: number;
    replicationFactor?: number;
    /** Topic configs set on creation only (e.g. `min.insync.replicas`); existing topics keep theirs. */
    configs?: Record<string, string>;
    timeoutMs?: number;
  } = {},
): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: options.partitions ?? 8,
          replicationFactor: options.replicationFactor ?? 1,
          configEntries: Object.entries(options.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    }
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      try {
        const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
        const ready = metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
        if (ready) return missing;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`topics not ready: ${topics.join(', ')}`, { cause: err });
      }
      if (Date.now() > deadline) throw new Error(`topics have no leader yet: ${topics.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Raises the partition count of any of `topics` that has fewer than `partitions` and returns
 * their names; Kafka cannot lower it, so a topic with more is left as it is. New partitions
 * take new keys at once: records of one key written before and after the change may be
 * consumed out of order (the hub's consumers claim conditionally, so that is harmless).
 */
export async function growPartitions(kafka: Kafka, topics: string[], partitions: number): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
    const count = new Map(metadata.map((t) => [t.name, t.partitions.length]));
    const short = topics.filter((t) => (count.get(t) ?? partitions) < partitions);
    if (short.length > 0) {
      await admin.createPartitions({ topicPartitions: short.map((topic) => ({ topic, count: partitions })) });
    }
    return short;
  } finally {
    await admin.disconnect();
  }
}

/** How many brokers the cluster has (a replication factor above it cannot be placed). */
export async function brokerCount(kafka: Kafka): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.describeCluster()).brokers.length;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Deletes every topic whose name starts with `prefix` (a namespace plus its `.`, or a wider
 * run prefix) and returns their names. For throwaway namespaces (tests, benchmarks): every
 * partition a broker keeps is work it redoes on each start, so leaked ones make restarts slow.
 */
export async function deleteTopicsWithPrefix(kafka: Kafka, prefix: string): Promise<string[]> {
  if (prefix.length === 0) throw new Error('deleteTopicsWithPrefix: refusing an empty prefix (it would delete every topic)');
  const admin = kafka.admin();
  await admin.connect();
  try {
    const doomed = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed, timeout: 30_000 });
    return doomed;
  } finally {
    await admin.disconnect();
  }
}

/** Readiness check: broker metadata answers. */
export async function pingKafka(admin: Admin): Promise<void> {
  await admin.describeCluster();
}
