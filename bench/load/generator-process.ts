// The parent's side of the generator process (bench/load/generator.ts): fork it once, send it
// one drive at a time, close it at the end.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DriveResult, DriveSpec, GeneratorMessage, GeneratorReply } from './plan.ts';

const generatorPath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'generator.ts');

export class GeneratorProcess {
  private readonly child: ChildProcess;

  constructor() {
    this.child = fork(generatorPath, [], {
      execArgv: ['--disable-warning=TimeoutNegativeWarning'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  drive(spec: DriveSpec): Promise<DriveResult> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: GeneratorReply) => {
        cleanup();
        if (reply.type === 'result') resolve(reply.result);
        else reject(new Error(`the generator failed: ${reply.message}`));
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`the generator exited (${code}) during a run`));
      };
      const cleanup = () => {
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send({ type: 'drive', spec } satisfies GeneratorMessage);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ type: 'exit' } satisfies GeneratorMessage);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
