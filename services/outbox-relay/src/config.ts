import { z } from 'zod';
import { commonEnv, kafkaEnv, port } from '@hub/config';

export const relayConfigSchema = z.object({
  ...commonEnv,
  ...kafkaEnv,
  PORT: port(9101),
});

export type RelayConfig = z.infer<typeof relayConfigSchema>;
