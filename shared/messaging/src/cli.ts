// The topic provisioning command (`npm run topics`), run with migrations before services start:
// services never create topics themselves (allowAutoTopicCreation is off), so a typo in a
// namespace cannot silently create a topic nobody consumes.
import { pino } from 'pino';
import { z } from 'zod';
import { kafkaEnv, parseEnv, positiveInt } from '@hub/config';
import { createKafka, ensureTopics } from './kafka.ts';
import { createTopics } from './topics.ts';

const env = parseEnv(
  z.object({ ...kafkaEnv, KAFKA_PARTITIONS: positiveInt(8), KAFKA_REPLICATION_FACTOR: positiveInt(1) }),
  process.env,
);
const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'topics-cli', logger: pino({ level: 'warn' }) });
const created = await ensureTopics(kafka, createTopics(env.KAFKA_TOPIC_NAMESPACE).all(), {
  partitions: env.KAFKA_PARTITIONS,
  replicationFactor: env.KAFKA_REPLICATION_FACTOR,
});
console.log(created.length ? `created topics: ${created.join(', ')}` : 'all topics exist');
