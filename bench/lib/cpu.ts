// CPU time by process, read from /proc (Linux): where a benchmark's work went. The stack's
// process tree (the API, the worker, the Temporal dev server, PostgreSQL and its backends)
// plus the bench process itself, grouped by what each process is. Time of processes that
// have exited is counted in their parent's cutime/cstime (PostgreSQL's backends).
import fs from 'node:fs';

const TICK_S = 0.01; // USER_HZ: 100 on Linux x86-64

interface Proc {
  pid: number;
  ppid: number;
  cpuS: number;
  childrenDoneS: number;
  cmd: string;
}

function readProc(pid: number): Proc | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ... : comm may contain spaces; fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    const [utime, stime, cutime, cstime] = [rest[11], rest[12], rest[13], rest[14]].map(Number);
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    return { pid, ppid, cpuS: (utime + stime) * TICK_S, childrenDoneS: (cutime + cstime) * TICK_S, cmd };
  } catch {
    return null; // gone
  }
}

/** What a process is, for grouping. */
function kind(cmd: string): string {
  if (cmd.includes('activities/worker.ts')) return 'worker (node)';
  if (cmd.includes('scripts/stack.ts')) return 'API (node, the stack process)';
  if (/\btemporal\b.*server/.test(cmd)) return 'Temporal dev server';
  if (/postgres/.test(cmd)) return 'PostgreSQL';
  if (cmd.includes('bench/index.ts')) return 'bench clients + bare worker (node)';
  if (cmd.includes('floor-http-server.ts')) return 'floor HTTP server (node)';
  if (cmd.includes('bare-server.ts')) return 'bare Fastify (node)';
  return 'other';
}

/** CPU seconds one process has used so far (0 once it is gone). */
export function processCpuS(pid: number): number {
  return readProc(pid)?.cpuS ?? 0;
}

/** CPU seconds so far by kind, over the tree under `root`, this process and its own helper processes. */
export function cpuByKind(root: number): Record<string, number> {
  const all: Proc[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const p = readProc(Number(d));
    if (p) all.push(p);
  }
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const inTree = (p: Proc): boolean => {
    for (let q: Proc | undefined = p, depth = 0; q && depth < 20; q = byPid.get(q.ppid), depth++) if (q.pid === root) return true;
    return false;
  };
  const out: Record<string, number> = {};
  for (const p of all) {
    if (!(inTree(p) || p.pid === process.pid || p.ppid === process.pid)) continue;
    const k = kind(p.cmd);
    // A PostgreSQL backend that exits adds its time to the postmaster's cutime.
    out[k] = (out[k] ?? 0) + p.cpuS + (k === 'PostgreSQL' ? p.childrenDoneS : 0);
  }
  return out;
}

/** "kind 12.3, kind 4.5 (total 16.8)": milliseconds of CPU per item (transfer, request) by kind. */
export function cpuPerItem(cpu: Array<[string, number]>, items: number, digits = 1): string {
  const total = cpu.reduce((a, [, s]) => a + s, 0);
  const ms = (s: number) => Number(((s * 1000) / items).toFixed(digits));
  return `${cpu.map(([k, s]) => `${k} ${ms(s)}`).join(', ')} (total ${ms(total)})`;
}

/** CPU seconds by kind spent between two readings of cpuByKind, largest first. */
export function cpuDelta(before: Record<string, number>, after: Record<string, number>): Array<[string, number]> {
  return Object.keys(after)
    .map((k) => [k, after[k] - (before[k] ?? 0)] as [string, number])
    .filter(([, s]) => s > 0.005)
    .sort((a, b) => b[1] - a[1]);
}
