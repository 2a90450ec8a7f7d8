import { execFileSync } from 'node:child_process';

/** Where the integration tests find real Postgres, Redis and Kafka. */
export interface Infrastructure {
  databaseUrl: string;
  redisUrl: string;
  kafkaBrokers: string[];
}

export interface StartedInfrastructure extends Infrastructure {
  stop: () => Promise<void>;
}

export const MISSING_INFRA_MESSAGE = `Integration tests need real Postgres, Redis and Kafka.
Either set all three of
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
  REDIS_URL=redis://127.0.0.1:6379
  KAFKA_BROKERS=127.0.0.1:9092
(run \`bash deploy/local/infra.sh up\` to start them on this machine, or \`npm test\`, which does both),
or make a Docker engine available so the tests can start them with testcontainers.`;

/**
 * Environment first (CI and the local scripts set it), then testcontainers when a Docker engine
 * answers, else a clear error saying exactly what to set or run.
 */
export async function resolveInfrastructure(env: Record<string, string | undefined>): Promise<StartedInfrastructure> {
  const { DATABASE_URL, REDIS_URL, KAFKA_BROKERS } = env;
  if (DATABASE_URL && REDIS_URL && KAFKA_BROKERS) {
    return {
      databaseUrl: DATABASE_URL,
      redisUrl: REDIS_URL,
      kafkaBrokers: KAFKA_BROKERS.split(',').map((b) => b.trim()).filter(Boolean),
      stop: async () => {},
    };
  }
  if (DATABASE_URL || REDIS_URL || KAFKA_BROKERS) {
    const missing = ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS'].filter((name) => !env[name]);
    throw new Error(`Only some infrastructure variables are set; also set ${missing.join(', ')}.\n\n${MISSING_INFRA_MESSAGE}`);
  }
  if (!dockerAvailable()) throw new Error(MISSING_INFRA_MESSAGE);
  return startContainers();
}

function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

async function startContainers(): Promise<StartedInfrastructure> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const [postgres, redis, kafka] = await Promise.all([
    new GenericContainer('postgres:17-alpine')
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start(),
    new GenericContainer('redis:7-alpine').withExposedPorts(6379).start(),
    // Fixed host port: the broker must advertise an address the host can reach.
    new GenericContainer('apache/kafka:3.9.1')
      .withExposedPorts({ container: 9092, host: 19092 })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://127.0.0.1:19092',
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start(),
  ]);
  return {
    databaseUrl: `postgres://postgres@${postgres.getHost()}:${postgres.getMappedPort(5432)}/postgres`,
    redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
    kafkaBrokers: ['127.0.0.1:19092'],
    stop: async () => {
      await Promise.all([postgres.stop(), redis.stop(), kafka.stop()]);
    },
  };
}
