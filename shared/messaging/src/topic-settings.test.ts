import { describe, expect, it } from 'vitest';
import { topicSettings, TopicSettingsError } from './topic-settings.ts';

describe('topicSettings', () => {
  it('defaults to 8 partitions on one replica', () => {
    expect(topicSettings([], {})).toEqual({ partitions: 8, replicationFactor: 1, minInsyncReplicas: 1 });
  });

  it('takes the variables, and a flag over its variable', () => {
    const env = { KAFKA_PARTITIONS: 12, KAFKA_REPLICATION_FACTOR: 3 };
    expect(topicSettings([], env)).toEqual({ partitions: 12, replicationFactor: 3, minInsyncReplicas: 2 });
    expect(topicSettings(['--partitions', '24', '--replication-factor=2'], env)).toEqual({
      partitions: 24,
      replicationFactor: 2,
      minInsyncReplicas: 1,
    });
  });

  it('keeps min.insync.replicas at 2 for wider replication unless told otherwise', () => {
    expect(topicSettings(['--replication-factor', '5'], {}).minInsyncReplicas).toBe(2);
    expect(topicSettings(['--replication-factor', '5', '--min-insync-replicas', '3'], {}).minInsyncReplicas).toBe(3);
  });

  it.each([
    [['--partitions', '0'], /--partitions must be a whole number/],
    [['--partitions', 'eight'], /--partitions must be a whole number .*'eight'/],
    [['--replication-factor', '1.5'], /--replication-factor must be a whole number/],
    [['--replication-factor', '3', '--min-insync-replicas', '4'], /min.insync.replicas 4 exceeds the replication factor 3/],
    [['--partition', '4'], /Unknown option '--partition'/],
    [['--partitions'], /--partitions/],
    [['extra'], /positional/i],
  ])('refuses %j with a message naming the problem', (argv, message) => {
    expect(() => topicSettings(argv, {})).toThrow(TopicSettingsError);
    expect(() => topicSettings(argv, {})).toThrow(message);
  });

  it('names every bad flag at once', () => {
    expect(() => topicSettings(['--partitions', '0', '--replication-factor', 'x'], {})).toThrow(
      /--partitions .*; --replication-factor/,
    );
  });
});
