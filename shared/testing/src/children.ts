import type { ChildProcess } from 'node:child_process';
import { pollUntil } from './poll.ts';

/** Whether a child process has ended (by exit or by signal). */
export const hasExited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

/**
 * Polls `<base>/readyz` of a service the caller spawned until it answers 200: 'ready', or
 * 'exited' as soon as the process has ended. Each probe is bounded (2 s), and the answer counts
 * only if the process still runs: whatever else holds the port may keep a connection without
 * answering, or answer in the service's place. Rejects after `timeoutMs`.
 */
export function untilReady(child: ChildProcess, base: string, options: { description: string; timeoutMs: number; intervalMs: number }): Promise<'ready' | 'exited'> {
  return pollUntil(
    options.description,
    async () => {
      if (hasExited(child)) return 'exited' as const;
      const answer = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
      await answer?.body?.cancel();
      return answer?.status === 200 && !hasExited(child) ? ('ready' as const) : undefined;
    },
    { timeoutMs: options.timeoutMs, intervalMs: options.intervalMs },
  );
}

/**
 * Asks a child process to end (`ask`; SIGTERM unless given) and waits until it has; SIGKILL if it
 * is still running after `killAfterMs`. Returns at once for a process that already ended.
 */
export async function stopChild(child: ChildProcess, options: { killAfterMs: number; ask?: (child: ChildProcess) => void }): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  (options.ask ?? ((c) => c.kill('SIGTERM')))(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
  await exited;
  clearTimeout(timer);
}
