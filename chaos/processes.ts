// Processes the chaos suite starts, signals and restarts: the hub's services, a private Redis and
// a private Kafka broker (through deploy/local/kafka.sh with its own state dir and ports). Every
// process is ended by its own PID (a ChildProcess, or the broker's pid file in the private state
// dir), never by name.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMPILE_CACHE_ENV } from '../shared/testing/src/process.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const now = () => performance.timeOrigin + performance.now();

export type ProcessEventKind = 'start' | 'ready' | 'SIGKILL' | 'SIGTERM' | 'exit' | 'unexpected-exit' | 'restart';

export interface ProcessEvent {
  at: number;
  /** ingest-api#1, dispatcher-push#2, redis, kafka … */
  slot: string;
  kind: ProcessEventKind;
  pid?: number | undefined;
  detail?: string;
}

/** Everything that happened to the processes, in order (the report reads kills and restarts from it). */
export class EventLog {
  readonly events: ProcessEvent[] = [];
  private readonly say: (line: string) => void;
  private readonly origin: () => number;
  constructor(say: (line: string) => void, origin: () => number) {
    this.say = say;
    this.origin = origin;
  }
  add(event: Omit<ProcessEvent, 'at'> & { at?: number }): ProcessEvent {
    const full = { ...event, at: event.at ?? now() };
    this.events.push(full);
    if (full.kind !== 'start' && full.kind !== 'ready') {
      this.say(`${full.kind} ${full.slot}${full.pid ? ` (pid ${full.pid})` : ''}${full.detail ? `: ${full.detail}` : ''} at t=${((full.at - this.origin()) / 1000).toFixed(1)} s`);
    }
    return full;
  }
}

export interface ProcessSpec {
  slot: string;
  command: string;
  args: string[];
  /** Its environment; a function gets the generation (1 for the first start, +1 per restart). */
  env: Record<string, string> | ((generation: number) => Record<string, string>);
  logFile: string;
  /** Resolves true when the process is ready (polled). */
  ready: () => Promise<boolean>;
  /** The HTTP port it listens on (kept across restarts). */
  port?: number;
}

/**
 * One supervised process. An exit nobody asked for is logged as `unexpected-exit` and the process
 * is started again after a second (what an orchestrator would do), so a crash shows in the report
 * instead of silently stopping the run.
 */
export class ManagedProcess {
  child: ChildProcess | undefined;
  private expectingExit = false;
  private exitWaiters: (() => void)[] = [];
  private log: WriteStream;
  private closed = false;
  restarts = 0;
  /** When the current process was spawned (epoch ms). */
  startedAt: number | undefined;
  /** 1 for the first process, +1 for every restart. */
  generation = 0;
  readonly spec: ProcessSpec;
  private readonly events: EventLog;

  constructor(spec: ProcessSpec, events: EventLog) {
    this.spec = spec;
    this.events = events;
    this.log = createWriteStream(spec.logFile, { flags: 'a' });
  }

  get slot(): string {
    return this.spec.slot;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    this.expectingExit = false;
    this.generation++;
    const env = typeof this.spec.env === 'function' ? this.spec.env(this.generation) : this.spec.env;
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...COMPILE_CACHE_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.startedAt = now();
    this.log.write(`\n=== chaos: ${this.slot} started, pid ${child.pid ?? '?'}, ${new Date().toISOString()} ===\n`);
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.events.add({ slot: this.slot, kind: 'start', pid: child.pid });
    child.once('exit', (code, signal) => {
      this.log.write(`=== chaos: ${this.slot} pid ${child.pid ?? '?'} exited (${code ?? signal}) ===\n`);
      const waiters = this.exitWaiters.splice(0);
      if (!this.expectingExit && !this.closed) {
        this.events.add({ slot: this.slot, kind: 'unexpected-exit', pid: child.pid, detail: `exit ${code ?? signal}` });
        setTimeout(() => {
          if (!this.closed && !this.running) {
            this.restarts++;
            this.events.add({ slot: this.slot, kind: 'restart', detail: 'after an unexpected exit' });
            this.start();
          }
        }, 1_000).unref();
      }
      for (const resolve of waiters) resolve();
    });
  }

  /** Polls readiness until it holds, up to `timeoutMs`; records when. */
  async waitReady(timeoutMs = 90_000): Promise<boolean> {
    const deadline = now() + timeoutMs;
    while (now() < deadline && !this.closed) {
      // A process that crashed meanwhile is started again (see start()): wait for that one.
      if (this.running && (await this.spec.ready().catch(() => false))) {
        this.events.add({ slot: this.slot, kind: 'ready', pid: this.child?.pid });
        return true;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  private exited(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /**
   * Sends `signal` to this process's PID and waits for it to exit (a SIGTERM that does not end it
   * within `graceMs` is followed by SIGKILL). Returns the signal and exit times.
   */
  async signal(signal: 'SIGKILL' | 'SIGTERM', graceMs = 40_000): Promise<{ at: number; exitedAt: number; pid: number | undefined }> {
    const child = this.child;
    if (!child || !this.running) throw new Error(`${this.slot} is not running`);
    this.expectingExit = true;
    const exited = this.exited();
    // Timed right after the kill(2) call: a SIGKILLed process runs no code after it, so every
    // answer it recorded came before this time (timing it before the call, a descheduled runner
    // could let the process commit an outcome "after" its own kill).
    child.kill(signal);
    const event = this.events.add({ slot: this.slot, kind: signal, pid: child.pid });
    const timer = setTimeout(() => {
      if (this.child === child && this.running) {
        this.events.add({ slot: this.slot, kind: 'SIGKILL', pid: child.pid, detail: `still running ${graceMs} ms after SIGTERM` });
        child.kill('SIGKILL');
      }
    }, graceMs);
    await exited;
    clearTimeout(timer);
    const exitedAt = now();
    this.events.add({ slot: this.slot, kind: 'exit', pid: child.pid, at: exitedAt, detail: `${child.exitCode ?? child.signalCode} after ${((exitedAt - event.at) / 1000).toFixed(1)} s` });
    return { at: event.at, exitedAt, pid: child.pid };
  }

  /** Ends the process by `action` (e.g. redis-cli SHUTDOWN) and waits for its exit, bounded; not counted as unexpected. */
  async stopWith(action: () => Promise<void>, timeoutMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.expectingExit = true;
    const exited = this.exited();
    await action();
    const child = this.child!;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
    this.events.add({ slot: this.slot, kind: 'exit', pid: child.pid, detail: `${child.exitCode ?? child.signalCode}` });
  }

  /** Starts it again (same env and port) and waits until it is ready. */
  async restart(timeoutMs = 90_000): Promise<boolean> {
    this.restarts++;
    this.events.add({ slot: this.slot, kind: 'restart' });
    this.start();
    return this.waitReady(timeoutMs);
  }

  /** End of the run: SIGTERM, then SIGKILL after `graceMs`; no restart. */
  async stop(graceMs = 15_000): Promise<void> {
    this.closed = true;
    if (this.running) {
      this.expectingExit = true;
      const exited = this.exited();
      const child = this.child!;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => this.log.end(resolve));
  }
}

/** 200 from GET url within 2 s. */
export async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
  return response?.status === 200;
}

/** A Redis PING over a raw socket (no client library state to reset between restarts). */
export function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/** Runs a command to completion; output appended to `logFile`. Rejects on a non-zero exit. */
export function run(command: string, args: string[], options: { env: Record<string, string>; logFile: string; timeoutMs: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(options.logFile, { flags: 'a' });
    log.write(`\n=== chaos: ${command} ${args.join(' ')} at ${new Date().toISOString()} ===\n`);
    const child = execFile(command, args, { cwd: repoRoot, env: { ...process.env, ...options.env }, timeout: options.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      log.write(stdout);
      log.write(stderr);
      log.end();
      if (err) reject(new Error(`${command} ${args.join(' ')} failed: ${err.message}\n${stderr.slice(-2_000)}`, { cause: err }));
      else resolve();
    });
    child.stdin?.end();
  });
}

/**
 * A Kafka broker of our own, run by deploy/local/kafka.sh with a private KAFKA_STATE_DIR and
 * ports: `down` ends only the broker whose PID is in that state dir's pid file (kafka.sh checks
 * the PID still runs kafka.Kafka with that dir's server.properties), so the shared broker
 * other work on this machine uses is never touched.
 */
export class PrivateKafka {
  readonly env: { KAFKA_STATE_DIR: string; KAFKA_PORT: string; KAFKA_CONTROLLER_PORT: string };
  private readonly logFile: string;

  constructor(env: { KAFKA_STATE_DIR: string; KAFKA_PORT: string; KAFKA_CONTROLLER_PORT: string }, logFile: string) {
    this.env = env;
    this.logFile = logFile;
  }

  get brokers(): string[] {
    return [`127.0.0.1:${this.env.KAFKA_PORT}`];
  }

  up(): Promise<void> {
    return run('bash', [path.join(repoRoot, 'deploy/local/kafka.sh'), 'up'], { env: { ...this.env }, logFile: this.logFile, timeoutMs: 240_000 });
  }

  down(): Promise<void> {
    return run('bash', [path.join(repoRoot, 'deploy/local/kafka.sh'), 'down'], { env: { ...this.env }, logFile: this.logFile, timeoutMs: 120_000 });
  }
}
