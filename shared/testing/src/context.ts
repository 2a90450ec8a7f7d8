import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { inject } from 'vitest';
import { createDb, type DbHandle } from '@hub/db';
import { createKafka, createTopics, deleteTopicsWithPrefix, ensureTopics, type Kafka, type Topics } from '@hub/messaging';
import { cloneDatabase } from './databases.ts';
import { addFailureOutput, memoryLogDestination } from './failure-output.ts';
import { fileNamespace } from './namespaces.ts';

/** One test file's private slice of the real infrastructure. */
export interface TestContext {
  /** Connection string of this file's own database (a clone of the migrated template). */
  databaseUrl: string;
  database: DbHandle;
  redisUrl: string;
  /** Prefix for every Redis key this file writes. */
  redisPrefix: string;
  redis: Redis;
  kafkaBrokers: string[];
  kafka: Kafka;
  /** Prefix for this file's topics and consumer groups. */
  namespace: string;
  topics: Topics;
  logger: Logger;
  /** Env a service process would need to run against this context. */
  env: Record<string, string>;
  close: () => Promise<void>;
}

/**
 * Call once per test file (beforeAll). Isolation: a database cloned from the template, a Redis
 * key prefix and a topic/group namespace unique to this file, so files run in parallel.
 */
export async function createTestContext(options: { createTopics?: boolean } = {}): Promise<TestContext> {
  const infra = inject('infra');
  const id = randomBytes(4).toString('hex');
  const databaseUrl = await cloneDatabase(infra.databaseUrl, infra.templateDatabase, `hub_t_${infra.runId}_${id}`);
  const database = createDb({ url: databaseUrl, max: 5, applicationName: 'test' });
  const redisPrefix = `test:${id}:`;
  const redis = new Redis(infra.redisUrl, { keyPrefix: redisPrefix, lazyConnect: false, maxRetriesPerRequest: 2, enableAutoPipelining: true });
  // TEST_LOG_LEVEL prints everything from that level; by default warn and worse are kept in
  // memory and printed only if a test of this file fails (setup-int.ts).
  const memory = memoryLogDestination();
  const logger = process.env.TEST_LOG_LEVEL ? pino({ level: process.env.TEST_LOG_LEVEL }) : pino({ level: 'warn' }, memory);
  addFailureOutput(`test context ${id} log`, memory.text);
  const namespace = fileNamespace(infra.runId, id);
  const topics = createTopics(namespace);
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: `test-${id}`, logger });
  if (options.createTopics ?? true) await ensureTopics(kafka, topics.all(), { partitions: 4 });
  return {
    databaseUrl,
    database,
    redisUrl: infra.redisUrl,
    redisPrefix,
    redis,
    kafkaBrokers: infra.kafkaBrokers,
    kafka,
    namespace,
    topics,
    logger,
    env: {
      DATABASE_URL: databaseUrl,
      REDIS_URL: infra.redisUrl,
      REDIS_KEY_PREFIX: redisPrefix,
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      KAFKA_TOPIC_NAMESPACE: namespace,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    },
    close: async () => {
      await database.close();
      // Delete only this file's keys: the Redis server is shared. ioredis does not prefix KEYS
      // patterns, so the pattern names the prefix itself.
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length > 0) {
        // `keys` returns full names; strip the prefix ioredis adds again on del.
        await redis.del(...keys.map((k) => k.slice(redisPrefix.length)));
      }
      redis.disconnect();
      // Last, so a broker that refuses cannot leave this file's Redis keys or connection behind.
      // Also takes the topics services or consumers of this file auto-created in the namespace.
      await deleteTopicsWithPrefix(kafka, `${namespace}.`);
    },
  };
}
