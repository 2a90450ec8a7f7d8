// The topic provisioning command (`npm run topics`), run with migrations before services start:
// services never create topics themselves (allowAutoTopicCreation is off), so a typo in a
// namespace cannot silently create a topic nobody consumes.
//
//   npm run topics -- [--partitions N] [--replication-factor N] [--min-insync-replicas N]
//
// Creates the missing topics with that sizing and raises the partition count of existing ones
// that have fewer (README.md, "Deploy": sizing partitions against dispatcher replicas). The
// replication factor and min.insync.replicas of an existing topic are not changed.
import { pino } from 'pino';
import { z } from 'zod';
import { checkKafkaEnv, kafkaConnection, kafkaEnv, loadConfigOrExit } from '@hub/config';
import { brokerCount, createKafka, ensureTopics, growPartitions } from './kafka.ts';
import { TOPIC_SETTINGS_USAGE, topicSettings, TopicSettingsError } from './topic-settings.ts';
import { createTopics } from './topics.ts';

const sizing = z.coerce.number().int().positive().max(10_000).optional();
const env = loadConfigOrExit(
  z.object({ ...kafkaEnv, KAFKA_PARTITIONS: sizing, KAFKA_REPLICATION_FACTOR: sizing, KAFKA_MIN_INSYNC_REPLICAS: sizing }).superRefine(checkKafkaEnv),
  process,
  'topics',
);

function usageError(message: string): never {
  console.error(`topics: ${message}\n${TOPIC_SETTINGS_USAGE}`);
  return process.exit(64); // EX_USAGE
}

let settings;
try {
  settings = topicSettings(process.argv.slice(2), env);
} catch (err) {
  if (!(err instanceof TopicSettingsError)) throw err;
  usageError(err.message);
}

const kafka = createKafka({ ...kafkaConnection(env), clientId: 'topics-cli', logger: pino({ level: 'warn' }) });
const brokers = await brokerCount(kafka);
if (settings.replicationFactor > brokers) {
  usageError(`replication factor ${settings.replicationFactor} needs at least that many brokers; the cluster has ${brokers}`);
}
const topics = createTopics(env.KAFKA_TOPIC_NAMESPACE).all();
const created = await ensureTopics(kafka, topics, {
  partitions: settings.partitions,
  replicationFactor: settings.replicationFactor,
  configs: { 'min.insync.replicas': String(settings.minInsyncReplicas) },
});
const grown = await growPartitions(kafka, topics, settings.partitions);
const { partitions, replicationFactor, minInsyncReplicas } = settings;
console.log(
  JSON.stringify({ msg: 'topics ready', partitions, replicationFactor, minInsyncReplicas, created, grown, existing: topics.length - created.length }),
);
