import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach } from 'vitest';
import { failureOutput } from './failure-output.ts';

/** test.sh prints this file after the run, so a CI failure shows its logs at the end of the output. */
const FAILURE_LOG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../.cache/int-failures.log');

// Integration tests only (vitest.config.ts): on a failure, print what the file's contexts
// logged at warn or worse and what its service processes printed.
beforeEach(({ onTestFailed, task }) => {
  onTestFailed(() => {
    const output = failureOutput();
    if (!output) return;
    console.error(`logs at the failure:\n${output}`);
    mkdirSync(path.dirname(FAILURE_LOG), { recursive: true });
    appendFileSync(FAILURE_LOG, `=== ${task.file?.name ?? '?'} > ${task.name}\n${output}\n`);
  });
});
