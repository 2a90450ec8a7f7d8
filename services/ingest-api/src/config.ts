import { z } from 'zod';
import { commonEnv, port, redisEnv, topicNamespace } from '@hub/config';

export const ingestConfigSchema = z.object({
  ...commonEnv,
  ...redisEnv,
  PORT: port(8080),
  // Ingest never talks to Kafka (it writes the outbox), but the outbox rows name topics.
  KAFKA_TOPIC_NAMESPACE: topicNamespace,
});

export type IngestConfig = z.infer<typeof ingestConfigSchema>;
