// Init container of every hub Deployment (ADR 0019): holds the pod until the setup Jobs of this
// version have done their work, so a new version never starts against an old schema. It checks
// the effect, not the Jobs: every migration this image ships is applied (kysely's own view of
// shared/db/src/migrations, as `npm run migrate` sees it) and, with WAIT_FOR_TOPICS=true, every
// topic `npm run topics` creates exists. It only reads; the Jobs write.
//
// Runs from the image's working directory (/app) with the image's node_modules; plain JavaScript
// because it is mounted from a ConfigMap, outside the sources.
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const app = process.cwd();
const load = (file) => import(pathToFileURL(path.join(app, file)).href);
const { createDb } = await load('shared/db/src/index.ts');
const { kafkaConnection, kafkaEnvSchema, parseEnv } = await load('shared/config/src/index.ts');
const { createKafka, createTopics } = await load('shared/messaging/src/index.ts');
const kyselyMigration = createRequire(path.join(app, 'shared/db/package.json')).resolve('kysely/migration');
const { FileMigrationProvider, Migrator } = await import(pathToFileURL(kyselyMigration).href);

const POLL_MS = 2_000;
const REPORT_EVERY_MS = 15_000;
const waitForTopics = process.env.WAIT_FOR_TOPICS === 'true';
const log = (level, msg, fields = {}) => console.log(JSON.stringify({ level, component: 'wait-for-setup', msg, ...fields }));

// Node as PID 1 ignores SIGTERM unless it handles it: a pod deleted while waiting stops at once.
process.on('SIGTERM', () => process.exit(143));

/** The service's own Kafka settings (TLS, SASL), checked by the schema it uses; wrong ones never heal. */
function kafkaConfigOrExit() {
  try {
    return parseEnv(kafkaEnvSchema, {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS,
      KAFKA_TOPIC_NAMESPACE: process.env.KAFKA_TOPIC_NAMESPACE,
      KAFKA_SSL: process.env.KAFKA_SSL,
      KAFKA_SSL_CA_FILE: process.env.KAFKA_SSL_CA_FILE,
      KAFKA_SSL_REJECT_UNAUTHORIZED: process.env.KAFKA_SSL_REJECT_UNAUTHORIZED,
      KAFKA_SSL_CERT_FILE: process.env.KAFKA_SSL_CERT_FILE,
      KAFKA_SSL_KEY_FILE: process.env.KAFKA_SSL_KEY_FILE,
      KAFKA_SASL_MECHANISM: process.env.KAFKA_SASL_MECHANISM,
      KAFKA_SASL_USERNAME: process.env.KAFKA_SASL_USERNAME,
      KAFKA_SASL_PASSWORD: process.env.KAFKA_SASL_PASSWORD,
    });
  } catch (err) {
    log('fatal', 'invalid configuration', { error: err instanceof Error ? err.message : String(err) });
    return process.exit(78);
  }
}
const kafkaConfig = waitForTopics ? kafkaConfigOrExit() : undefined;

const database = createDb({ url: process.env.DATABASE_URL ?? '', max: 1, applicationName: 'wait-for-setup' });
const migrator = new Migrator({
  db: database.db,
  provider: new FileMigrationProvider({ fs, path, migrationFolder: path.join(app, 'shared/db/src/migrations') }),
  allowUnorderedMigrations: true,
});

/** Migrations this image ships that the database has not run (all of them before the first run). */
async function pendingMigrations() {
  const migrations = await migrator.getMigrations();
  return migrations.filter((m) => m.executedAt === undefined).map((m) => `migration ${m.name}`);
}

const quietLogger = {
  child: () => quietLogger,
  error: (fields, msg) => log('warn', msg, fields),
  warn: () => {},
  info: () => {},
  debug: () => {},
};
let admin;
/** Topics `npm run topics` creates for this namespace that the cluster does not have. */
async function missingTopics() {
  if (!admin) {
    admin = createKafka({ ...kafkaConnection(kafkaConfig), clientId: 'wait-for-setup', logger: quietLogger }).admin();
    await admin.connect();
  }
  const existing = new Set(await admin.listTopics());
  const wanted = createTopics(process.env.KAFKA_TOPIC_NAMESPACE ?? '').all();
  return wanted.filter((t) => !existing.has(t)).map((t) => `topic ${t}`);
}

let lastReport = 0;
for (;;) {
  let waitingFor;
  try {
    waitingFor = [...(await pendingMigrations()), ...(waitForTopics ? await missingTopics() : [])];
  } catch (err) {
    waitingFor = [`dependency unreachable: ${err instanceof Error ? err.message : String(err)}`];
  }
  if (waitingFor.length === 0) break;
  if (Date.now() - lastReport >= REPORT_EVERY_MS) {
    lastReport = Date.now();
    log('info', 'waiting for the setup jobs', { waitingFor: waitingFor.slice(0, 10), count: waitingFor.length });
  }
  await new Promise((resolve) => setTimeout(resolve, POLL_MS));
}
log('info', 'setup done: starting the service', { waitForTopics });
await admin?.disconnect();
await database.close();
