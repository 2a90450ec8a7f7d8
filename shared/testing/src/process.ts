import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { addFailureOutput } from './failure-output.ts';
import { untilReady } from './children.ts';
import { freePort } from './ports.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Node's compile cache for the service processes we start, as the deploy scripts and the image
 * set it: a restarted service loads its modules (type-stripped TypeScript included) from the
 * cache instead of compiling them again (~300 ms and ~20 MB of RSS less per start).
 */
export const COMPILE_CACHE_ENV = { NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? path.join(os.tmpdir(), 'notification-hub-compile-cache') };

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything the process printed (stdout and stderr), for assertions and failure output. */
  output: () => string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  kill: (signal?: NodeJS.Signals) => void;
}

/**
 * Runs a service as a separate Node process the way it runs in production: its bundle,
 * `dist/<service>/main.mjs`, which the int project's global set-up builds from the sources
 * (deploy/build/vitest-setup.ts), with exactly the env given plus PATH and the compile cache.
 */
export function spawnService(service: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist', service, 'main.mjs')], {
    env: { PATH: process.env.PATH ?? '', ...COMPILE_CACHE_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  addFailureOutput(`${service} process ${child.pid ?? '?'} output`, () => output);
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return { child, output: () => output, exited, kill: (signal = 'SIGTERM') => void child.kill(signal) };
}

export interface StartedService {
  process: ServiceProcess;
  port: number;
  /** `http://127.0.0.1:<port>` */
  base: string;
}

/** Ports a service is started on before startService gives up on taken ones. */
const START_TRIES = 3;

/**
 * Spawns a service on a free port and resolves once its /readyz answers 200. Fails with the
 * process output if it never does, or as soon as the process exits. A port taken between
 * freePort() and the service's listen (by another test's process or an outgoing connection) is
 * not the service's fault: it is started again on another port, three times at most.
 */
export async function startService(
  service: string,
  env: Record<string, string>,
  options: { timeoutMs?: number; /** Where ports come from (default freePort). */ ports?: () => Promise<number> } = {},
): Promise<StartedService> {
  for (let tries = 1; ; tries++) {
    const port = await (options.ports ?? freePort)();
    const child = spawnService(service, {
      NODE_OPTIONS: '--disable-warning=TimeoutNegativeWarning',
      ...env,
      PORT: String(port),
    });
    const base = `http://127.0.0.1:${port}`;
    const state = await untilReady(child.child, base, { description: `${service} ready`, timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 200 }).catch((err: unknown) => {
      child.kill('SIGKILL');
      throw new Error(`${service} never became ready; output:\n${child.output()}`, { cause: err });
    });
    if (state === 'ready') return { process: child, port, base };
    // Everything it printed, before reading why it stopped.
    await Promise.all([child.child.stdout, child.child.stderr].map((stream) => (stream ? finished(stream).catch(() => {}) : undefined)));
    if (!child.output().includes('EADDRINUSE') || tries === START_TRIES) {
      throw new Error(`${service} exited (${await child.exited}) before it was ready; output:\n${child.output()}`);
    }
  }
}
