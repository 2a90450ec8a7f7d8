import { z } from 'zod';
import { commonEnv, kafkaEnv, port } from '@hub/config';
import type { Channel } from '@hub/domain';

/** Default health/metrics port per channel (SPEC §1). */
export const DISPATCHER_PORTS: Record<Channel, number> = {
  PUSH: 9102,
  EMAIL: 9103,
  SMS: 9104,
  KAKAO_ALIMTALK: 9105,
};

export function dispatcherConfigSchema(channel: Channel) {
  return z.object({
    ...commonEnv,
    ...kafkaEnv,
    PORT: port(DISPATCHER_PORTS[channel]),
  });
}

export type DispatcherConfig = z.infer<ReturnType<typeof dispatcherConfigSchema>>;
