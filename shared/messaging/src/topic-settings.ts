import { parseArgs } from 'node:util';
import { z } from 'zod';

/** How `npm run topics` sizes the topics it creates. */
export interface TopicSettings {
  partitions: number;
  replicationFactor: number;
  /** The topics' `min.insync.replicas`: with acks=all, a write needs this many replicas. */
  minInsyncReplicas: number;
}

/** A flag or variable that cannot size a topic; the message says which and why. */
export class TopicSettingsError extends Error {
  constructor(problems: string[]) {
    super(problems.join('; '));
    this.name = 'TopicSettingsError';
  }
}

export const TOPIC_SETTINGS_USAGE =
  'usage: npm run topics -- [--partitions N] [--replication-factor N] [--min-insync-replicas N]\n' +
  '  (or KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS; a flag wins over its variable)';

const count = z.coerce.number().int().positive().max(10_000);

/**
 * The sizing from the command line, falling back to the parsed environment, then to the
 * defaults: 8 partitions, replication factor 1 (one local broker), and `min.insync.replicas`
 * one below the replication factor but at most 2 (3 replicas: a write survives one broker down;
 * 1 replica: 1). Throws a TopicSettingsError naming every bad value.
 */
export function topicSettings(
  argv: string[],
  env: { KAFKA_PARTITIONS?: number | undefined; KAFKA_REPLICATION_FACTOR?: number | undefined; KAFKA_MIN_INSYNC_REPLICAS?: number | undefined },
): TopicSettings {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        partitions: { type: 'string' },
        'replication-factor': { type: 'string' },
        'min-insync-replicas': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new TopicSettingsError([(err as Error).message]);
  }
  const problems: string[] = [];
  const flag = (name: string, fallback: number | undefined): number | undefined => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const parsed = count.safeParse(raw);
    if (parsed.success) return parsed.data;
    problems.push(`--${name} must be a whole number from 1 to 10000 (got '${String(raw)}')`);
    return fallback;
  };
  const partitions = flag('partitions', env.KAFKA_PARTITIONS) ?? 8;
  const replicationFactor = flag('replication-factor', env.KAFKA_REPLICATION_FACTOR) ?? 1;
  const minInsyncReplicas = flag('min-insync-replicas', env.KAFKA_MIN_INSYNC_REPLICAS) ?? Math.min(2, Math.max(1, replicationFactor - 1));
  if (minInsyncReplicas > replicationFactor) {
    problems.push(
      `min.insync.replicas ${minInsyncReplicas} exceeds the replication factor ${replicationFactor}: every acks=all write would fail`,
    );
  }
  if (problems.length > 0) throw new TopicSettingsError(problems);
  return { partitions, replicationFactor, minInsyncReplicas };
}
