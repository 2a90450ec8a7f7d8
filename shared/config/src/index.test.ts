import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, booleanFlag, commonEnv, kafkaConnection, kafkaEnv, kafkaEnvSchema, parseEnv, port } from './index.ts';

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

describe('Kafka TLS and SASL settings', () => {
  const brokers = { KAFKA_BROKERS: 'b-1.example:9096' };
  const variablesOf = (env: Record<string, string>) => {
    try {
      parseEnv(kafkaEnvSchema, { ...brokers, ...env });
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.variables.sort();
    }
  };

  it('connects in plaintext without authentication by default', () => {
    expect(kafkaConnection(parseEnv(kafkaEnvSchema, brokers))).toEqual({ brokers: ['b-1.example:9096'], ssl: undefined, sasl: undefined });
  });

  it('turns on TLS with verification, and SASL with its credentials', () => {
    const config = parseEnv(kafkaEnvSchema, {
      ...brokers,
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'hub',
      KAFKA_SASL_PASSWORD: 'secret',
    });
    expect(kafkaConnection(config)).toEqual({
      brokers: ['b-1.example:9096'],
      ssl: { rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-512', username: 'hub', password: 'secret' },
    });
  });

  it('reads an empty value (a blank ConfigMap key) as unset', () => {
    const config = parseEnv(kafkaEnvSchema, { ...brokers, KAFKA_SSL_CA_FILE: '', KAFKA_SASL_MECHANISM: '', KAFKA_SASL_USERNAME: '' });
    expect(kafkaConnection(config)).toEqual({ brokers: ['b-1.example:9096'], ssl: undefined, sasl: undefined });
  });

  it.each([
    [{ KAFKA_SASL_MECHANISM: 'scram-sha-256' }, ['KAFKA_SASL_PASSWORD', 'KAFKA_SASL_USERNAME']],
    [{ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'hub', KAFKA_SASL_PASSWORD: 'x' }, ['KAFKA_SASL_MECHANISM']],
    [{ KAFKA_SASL_USERNAME: 'hub', KAFKA_SASL_PASSWORD: 'x' }, ['KAFKA_SASL_PASSWORD', 'KAFKA_SASL_USERNAME']],
    [{ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'hub', KAFKA_SASL_PASSWORD: 'x' }, ['KAFKA_SASL_MECHANISM']],
    [{ KAFKA_SSL: 'yes' }, ['KAFKA_SSL']],
    [{ KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' }, ['KAFKA_SSL_REJECT_UNAUTHORIZED']],
    [{ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' }, ['KAFKA_SSL_CA_FILE']],
    [{ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: '/nonexistent/client.pem' }, ['KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE']],
  ])('refuses %j, naming %j', (env, variables) => {
    expect(variablesOf(env)).toEqual(variables);
  });
});
