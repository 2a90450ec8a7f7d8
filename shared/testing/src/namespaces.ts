/**
 * Names of a test run's Kafka namespaces. Every topic and consumer group of a test file starts
 * with its file namespace, which starts with the run's prefix: a file deletes its own topics
 * when it closes, and the run's teardown deletes whatever a file that crashed left behind.
 */
export function runTopicPrefix(runId: string): string {
  return `t${runId}-`;
}

export function fileNamespace(runId: string, fileId: string): string {
  return `${runTopicPrefix(runId)}${fileId}`;
}
