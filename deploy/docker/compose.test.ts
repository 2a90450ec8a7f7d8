// docker-compose.yml and the Dockerfile cannot be run on a machine without a Docker engine, so
// the mistakes that would only show there are checked here: a service missing or built as the
// wrong one, a port published that nothing listens on, a broker address the host cannot reach,
// an interpolation compose would reject, an image without the postgres.js patch.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const composeText = readFileSync(`${root}docker-compose.yml`, 'utf8');
const dockerfile = readFileSync(`${root}deploy/docker/Dockerfile`, 'utf8');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  ports?: string[];
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  command?: string[];
}
const compose = parse(composeText, { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;
const hubServices = readdirSync(`${root}services`);

/** `"8080:8080"` → { host: 8080, container: 8080 }. */
function published(service: ComposeService): { host: number; container: number }[] {
  return (service.ports ?? []).map((p) => {
    const [host, container] = p.split(':').map(Number);
    return { host: host!, container: container! };
  });
}

describe('docker-compose.yml', () => {
  it.each(hubServices)('builds %s from the shared Dockerfile as that service, after setup', (name) => {
    const service = services[name];
    expect(service, `no compose service for services/${name}`).toBeDefined();
    expect(service!.build).toMatchObject({ context: '.', dockerfile: 'deploy/docker/Dockerfile', args: { SERVICE: name } });
    expect(service!.depends_on?.setup?.condition).toBe('service_completed_successfully');
  });

  it.each(hubServices)('publishes the port %s listens on and checks its readiness there', (name) => {
    const service = services[name]!;
    const port = Number(service.environment?.PORT);
    expect(port).toBeGreaterThan(0);
    expect(published(service)).toEqual([{ host: port, container: port }]);
    expect(service.healthcheck?.test.join(' ')).toMatch(/process\.env\.PORT \+ '\/readyz'/);
  });

  it('points every service at the compose infrastructure', () => {
    for (const name of hubServices) {
      const env = services[name]!.environment!;
      expect(new URL(String(env.DATABASE_URL)).hostname, name).toBe('postgres');
      expect(new URL(String(env.REDIS_URL)).hostname, name).toBe('redis');
      expect(String(env.KAFKA_BROKERS).split(':')[0], name).toBe('kafka');
    }
  });

  it('lets containers reach the broker by name and the host through the published port', () => {
    const env = services.kafka!.environment!;
    const advertised = Object.fromEntries(
      String(env.KAFKA_ADVERTISED_LISTENERS)
        .split(',')
        .map((l) => {
          const [, name, host, port] = /^(\w+):\/\/([^:]+):(\d+)$/.exec(l)!;
          return [name!, { host: host!, port: Number(port) }];
        }),
    );
    const listeners = Object.fromEntries(
      String(env.KAFKA_LISTENERS)
        .split(',')
        .map((l) => {
          const [, name, port] = /^(\w+):\/\/:(\d+)$/.exec(l)!;
          return [name!, Number(port)];
        }),
    );
    expect(advertised.INTERNAL).toEqual({ host: 'kafka', port: listeners.INTERNAL });
    // The host connects to the published port and is told to come back to the same address.
    expect(published(services.kafka!)).toEqual([{ host: advertised.HOST!.port, container: listeners.HOST }]);
    expect(advertised.HOST!.host).toBe('127.0.0.1');
    expect(env.KAFKA_LOG_DIRS).toBe('/var/lib/kafka/data');
  });

  it('runs migrations and topic creation once, after the infrastructure is healthy', () => {
    const setup = services.setup!;
    expect(setup.command?.join(' ')).toContain('node shared/db/src/cli.ts && node shared/messaging/src/cli.ts');
    for (const dependency of ['postgres', 'redis', 'kafka']) {
      expect(setup.depends_on?.[dependency]?.condition).toBe('service_healthy');
      expect(services[dependency]!.healthcheck).toBeDefined();
    }
  });

  it('uses only interpolations compose accepts (a literal $ must be written $$)', () => {
    const dollars = [...composeText.matchAll(/\$(\$|\{[A-Z_][A-Z0-9_]*(:?[-?][^}]*)?\}|[A-Z_][A-Z0-9_]*)?/g)];
    const bad = dollars.filter((m) => m[1] === undefined).map((m) => composeText.slice(m.index, m.index + 30));
    expect(bad).toEqual([]);
  });
});

describe('deploy/docker/Dockerfile', () => {
  it('runs on Node 24', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-/m);
  });

  it('installs with the patches applied, then drops the dev dependencies', () => {
    const rootPackage = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> };
    expect(rootPackage.scripts.postinstall).toBe('patch-package');
    const copyPatches = dockerfile.indexOf('COPY patches/ patches/');
    const install = dockerfile.indexOf('RUN npm ci ');
    expect(copyPatches).toBeGreaterThan(-1);
    expect(install).toBeGreaterThan(copyPatches);
    expect(dockerfile).not.toMatch(/npm ci [^\n]*--omit=dev/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
  });

  it('starts the service named by the build argument as PID 1 so SIGTERM reaches node', () => {
    expect(dockerfile).toMatch(/SERVICE_MAIN=dist\/\$\{SERVICE\}\/main\.mjs/);
    expect(dockerfile).toMatch(/CMD \["sh", "-c", "exec node \\"\$SERVICE_MAIN\\""\]/);
  });
});
