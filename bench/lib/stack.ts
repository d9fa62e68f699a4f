// Starts the real stack (scripts/stack.ts: embedded PostgreSQL, Temporal dev server,
// worker, API) for one benchmark with scripts/lib/spawn-stack.ts, as tests/global-setup.ts
// does: on free ports, in a throw-away directory, headless, in its own process group.
// stop() ends everything it started and removes the directory; so does Ctrl-C.
import path from 'node:path';
import { spawnStack } from '../../scripts/lib/spawn-stack';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface BenchStack {
  apiUrl: string;
  /** The role the API and the worker use. */
  databaseUrl: string;
  /** The superuser (bulk inserts, EXPLAIN). */
  ownerDatabaseUrl: string;
  temporalAddress: string;
  taskQueue: string;
  /** pid of the stack process (the API; the worker is its child, STACK_WORKER=process). */
  pid: number;
  dir: string;
  logFile: string;
  stop(): Promise<void>;
}

const running = new Set<BenchStack>();
let hooked = false;

/** Stops every stack still running when the bench process is interrupted. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const bail = (sig: NodeJS.Signals) => {
    void Promise.allSettled([...running].map((s) => s.stop())).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', bail);
  process.once('SIGTERM', bail);
}

export async function startStack(name: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<BenchStack> {
  hookExit();
  const spawned = await spawnStack({
    name: `ic-bench-${name}`,
    logFile: path.join(ROOT, 'artifacts', `bench-${name}-stack.log`),
    env: {
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      // The worker in a process of its own, as in production (docker-compose): the API and
      // the worker do not share one event loop.
      STACK_WORKER: process.env.STACK_WORKER ?? 'process',
      // Benchmarks drive many requests per user.
      RATE_LIMIT_PER_MINUTE: '100000000',
      LOGIN_RATE_LIMIT_PER_MINUTE: '100000',
      ...extraEnv,
    },
  });
  const { info, env } = spawned;
  const stack: BenchStack = {
    apiUrl: info.apiUrl,
    databaseUrl: info.databaseUrl,
    ownerDatabaseUrl: info.ownerDatabaseUrl,
    temporalAddress: info.temporalAddress,
    taskQueue: String(env.TEMPORAL_TASK_QUEUE ?? 'transfers'),
    pid: spawned.child.pid!,
    dir: spawned.dir,
    logFile: spawned.logFile,
    stop() {
      running.delete(stack);
      return spawned.stop();
    },
  };
  running.add(stack);
  return stack;
}

/** Starts a stack, runs fn, and always stops the stack. */
export async function withStack<T>(name: string, fn: (s: BenchStack) => Promise<T>, extraEnv: NodeJS.ProcessEnv = {}): Promise<T> {
  const s = await startStack(name, extraEnv);
  try {
    return await fn(s);
  } finally {
    await s.stop();
  }
}
