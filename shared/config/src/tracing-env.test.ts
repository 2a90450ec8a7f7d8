import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, parseEnv, tracingEnv } from './index.ts';

const schema = z.object(tracingEnv);

describe('tracingEnv', () => {
  it('is off by default: no endpoint, every new trace sampled once on', () => {
    expect(parseEnv(schema, {})).toEqual({ OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_EXPORTER_OTLP_HEADERS: undefined, OTEL_TRACES_SAMPLER_ARG: 1 });
    expect(parseEnv(schema, { OTEL_EXPORTER_OTLP_ENDPOINT: '' }).OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
  });

  it('reads the endpoint, the export headers (URL-encoded values) and the sampling ratio', () => {
    expect(
      parseEnv(schema, {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com:4318',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc%3D%3D, authorization=Basic%20dXNlcjpwdw',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      }),
    ).toEqual({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com:4318',
      OTEL_EXPORTER_OTLP_HEADERS: { 'x-api-key': 'abc==', authorization: 'Basic dXNlcjpwdw' },
      OTEL_TRACES_SAMPLER_ARG: 0.25,
    });
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://collector:4317'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'no-equals-sign'],
    ['OTEL_EXPORTER_OTLP_HEADERS', '=value'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'x-key=%E0%A4%A'],
    ['OTEL_TRACES_SAMPLER_ARG', '1.5'],
    ['OTEL_TRACES_SAMPLER_ARG', 'half'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => parseEnv(schema, { [name]: value })).toThrow(ConfigError);
    try {
      parseEnv(schema, { [name]: value });
    } catch (err) {
      expect((err as ConfigError).variables).toEqual([name]);
    }
  });
});
