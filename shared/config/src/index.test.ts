import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, booleanFlag, commonEnv, kafkaEnv, parseEnv, port } from './index.ts';

const schema = z.object({ ...commonEnv, ...kafkaEnv, PORT: port(8080), FLAG: booleanFlag(false) });

describe('parseEnv', () => {
  it('applies defaults and coerces values', () => {
    const cfg = parseEnv(schema, {
      DATABASE_URL: 'postgres://u@h:5432/db',
      KAFKA_BROKERS: 'a:9092, b:9093',
    });
    expect(cfg.PORT).toBe(8080);
    expect(cfg.FLAG).toBe(false);
    expect(cfg.KAFKA_BROKERS).toEqual(['a:9092', 'b:9093']);
    expect(cfg.LOG_LEVEL).toBe('info');
  });

  it('names every offending variable', () => {
    try {
      parseEnv(schema, { DATABASE_URL: 'mysql://x', KAFKA_BROKERS: 'nope', PORT: '99999', FLAG: 'yes' });
      expect.fail('should throw');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variables.sort()).toEqual(['DATABASE_URL', 'FLAG', 'KAFKA_BROKERS', 'PORT']);
      expect((err as Error).message).toContain('PORT');
    }
  });
});
