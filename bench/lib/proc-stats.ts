// CPU and memory of processes from /proc (Linux only): CPU ticks (utime + stime) of a PID, its
// resident set, the PID listening on a TCP port (ss), and Postgres backends by database
// (pg_stat_activity), tracked across a window so a backend that comes or goes is still counted.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type postgres from 'postgres';

/** Ticks per second of the times in /proc/<pid>/stat (USER_HZ, normally 100). */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Busy and total ticks of the whole machine (all cores), from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

/** The machine's busy share (% of all cores) between two machineTicks() readings. */
export const busyPercent = (before: { busy: number; total: number }, after: { busy: number; total: number }) =>
  (100 * (after.busy - before.busy)) / (after.total - before.total);

/** The fields after "(comm)" of /proc/<pid>/stat; index 0 is field 3 (state). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime of a live process, in ticks; undefined once it is gone. */
export function cpuTicks(pid: number): number | undefined {
  const f = statFields(pid);
  return f ? Number(f[11]) + Number(f[12]) : undefined;
}

/** cutime + cstime: the CPU of its children that exited and were waited for, in ticks. */
export function reapedChildrenTicks(pid: number): number | undefined {
  const f = statFields(pid);
  return f ? Number(f[13]) + Number(f[14]) : undefined;
}

/** VmRSS in bytes, undefined once the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The PID listening on 127.0.0.1:<port> (or any address), from `ss -ltnp`; needs to see other users' sockets (root). */
export function listenerPid(port: number): number | undefined {
  try {
    const output = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    const match = /pid=(\d+)/.exec(output);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Live children of a process (e.g. the postmaster's backends), from /proc/<pid>/task/<pid>/children. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** All CPU a Postgres server used so far: the postmaster, its live children and the exited ones. */
export function postgresServerTicks(postmaster: number): number {
  return (cpuTicks(postmaster) ?? 0) + (reapedChildrenTicks(postmaster) ?? 0) + childPids(postmaster).reduce((sum, pid) => sum + (cpuTicks(pid) ?? 0), 0);
}

/**
 * CPU of a set of processes that changes during a window (the backends of one database, which
 * come and go with the pools): sample() often enough, and total() is the CPU they used since
 * start(). A process first seen after start() started during the window (all its ticks count);
 * one that exits counts up to its last sample.
 */
export class ProcessSetCpu {
  private readonly seen = new Map<number, { first: number; last: number }>();
  private readonly list: () => Promise<number[]>;

  constructor(list: () => Promise<number[]>) {
    this.list = list;
  }

  async start(): Promise<void> {
    this.seen.clear();
    for (const pid of await this.list()) {
      const ticks = cpuTicks(pid);
      if (ticks !== undefined) this.seen.set(pid, { first: ticks, last: ticks });
    }
  }

  async sample(): Promise<void> {
    const pids = new Set([...(await this.list()), ...this.seen.keys()]);
    for (const pid of pids) {
      const ticks = cpuTicks(pid);
      if (ticks === undefined) continue;
      const known = this.seen.get(pid);
      if (known) known.last = ticks;
      else this.seen.set(pid, { first: 0, last: ticks });
    }
  }

  total(): number {
    let sum = 0;
    for (const { first, last } of this.seen.values()) sum += last - first;
    return sum;
  }
}

/** Backends of `database` (client backends and its autovacuum workers), as the admin connection sees them. */
export const backendsOf = (admin: postgres.Sql, database: string) => async (): Promise<number[]> =>
  (await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${database}`).map((r) => r.pid);

/** The backends of one database that a client opened under `applicationName` (each service names its pool). */
export const backendsOfApp = (admin: postgres.Sql, database: string, applicationName: string) => async (): Promise<number[]> =>
  (await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${database} and application_name = ${applicationName}`).map((r) => r.pid);

/** Postgres's own background processes (checkpointer, WAL writer, background writer, launchers): shared by every database. */
export const postgresBackground = (admin: postgres.Sql) => async (): Promise<number[]> =>
  (await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname is null`).map((r) => r.pid);
