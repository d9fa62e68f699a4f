// Running this project's TypeScript entry points as child processes, and children that
// stop with their parent: shared by the stack (scripts/stack.ts, lib/spawn-stack.ts,
// lib/worker-process.ts) and the benchmarks' helper processes (bench/lib/*).
import path from 'node:path';

/** The repository's root. */
export const ROOT = path.resolve(__dirname, '..', '..');

/**
 * node's arguments to run `script` (relative to the repository) with tsx, after the flags
 * of STACK_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the API and
 * the worker under a benchmark (node refuses --cpu-prof in NODE_OPTIONS).
 */
export function tsxArgs(script: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const nodeArgs = (env.STACK_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  return [...nodeArgs, '--import', 'tsx', path.join(ROOT, script)];
}

/** Calls `onGone` once process `pid` no longer exists (checked every 2 s, without keeping this process alive). */
export function whenProcessGone(pid: number, onGone: () => void): void {
  const timer = setInterval(() => {
    try {
      process.kill(pid, 0);
    } catch {
      clearInterval(timer);
      onGone();
    }
  }, 2000);
  timer.unref();
}
