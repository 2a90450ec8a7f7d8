import { z } from 'zod';
import { commonEnv, port, redisEnv, topicNamespace } from '@hub/config';

export const adminConfigSchema = z.object({
  ...commonEnv,
  ...redisEnv,
  PORT: port(8081),
  // Replays write outbox rows, which name topics; the relay publishes them.
  KAFKA_TOPIC_NAMESPACE: topicNamespace,
});

export type AdminConfig = z.infer<typeof adminConfigSchema>;
