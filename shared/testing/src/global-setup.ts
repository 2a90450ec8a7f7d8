// vitest globalSetup of the `int` project: find (or start) the infrastructure once per run,
// migrate a template database once, and hand both to every test file through `provide`.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import type { TestProject } from 'vitest/node';
import { createKafka, deleteTopicsWithPrefix } from '@hub/messaging';
import { createTemplateDatabase, dropDatabases } from './databases.ts';
import { resolveInfrastructure, type Infrastructure } from './infra.ts';
import { runTopicPrefix } from './namespaces.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    infra: Infrastructure & { templateDatabase: string; runId: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const infra = await resolveInfrastructure(process.env);
  const runId = randomBytes(4).toString('hex');
  const templateDatabase = `hub_tpl_${runId}`;
  await createTemplateDatabase(infra.databaseUrl, templateDatabase);
  project.provide('infra', {
    databaseUrl: infra.databaseUrl,
    redisUrl: infra.redisUrl,
    kafkaBrokers: infra.kafkaBrokers,
    templateDatabase,
    runId,
  });
  return async () => {
    await dropDatabases(infra.databaseUrl, `hub_t_${runId}_`);
    await dropDatabases(infra.databaseUrl, templateDatabase);
    // Files delete their own topics on close; this catches those of a file that crashed.
    const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: `test-teardown-${runId}`, logger: pino({ level: 'silent' }) });
    await deleteTopicsWithPrefix(kafka, runTopicPrefix(runId));
    await infra.stop();
  };
}
