// Starts the real stack (scripts/stack.ts: embedded PostgreSQL, Temporal dev server,
// worker, API) for one benchmark, exactly as tests/global-setup.ts does: on free ports,
// in a throw-away directory, headless, in its own process group. stop() ends everything
// it started and removes the directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../scripts/lib/embedded-postgres';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface BenchStack {
  apiUrl: string;
  /** The role the API and the worker use. */
  databaseUrl: string;
  /** The superuser (bulk inserts, EXPLAIN). */
  ownerDatabaseUrl: string;
  temporalAddress: string;
  taskQueue: string;
  /** pid of the stack process (API + worker in one Node process). */
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
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ic-bench-${name}-`));
  fs.chmodSync(dir, 0o755); // the embedded PostgreSQL runs as the 'postgres' user when we are root
  const artifacts = path.join(ROOT, 'artifacts');
  fs.mkdirSync(artifacts, { recursive: true });
  const logFile = path.join(artifacts, `bench-${name}-stack.log`);
  const log = fs.openSync(logFile, 'w');
  const readyFile = path.join(dir, 'ready.json');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DEMO_MODE: 'true',
    LOG_FORMAT: 'json',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    PG_DATA_DIR: path.join(dir, 'postgres'),
    PG_PORT: String(await freePort()),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    TEMPORAL_DB_FILE: path.join(dir, 'temporal.sqlite'),
    PORT: '0',
    HOST: '127.0.0.1',
    JWT_SECRET: `bench-secret-${Math.random().toString(36).slice(2)}-${Date.now()}-padding`,
    STACK_READY_FILE: readyFile,
    STACK_PARENT_PID: String(process.pid),
    // Benchmarks drive many requests per user.
    RATE_LIMIT_PER_MINUTE: '100000000',
    LOGIN_RATE_LIMIT_PER_MINUTE: '100000',
    ...extraEnv,
  };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'stack.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', log, log],
    detached: true, // its own process group: stop() ends it and everything it started
  });
  let exited: number | null = null;
  child.once('exit', (c) => (exited = c ?? 1));
  const deadline = Date.now() + 240_000;
  const cleanup = () => {
    try {
      fs.closeSync(log);
    } catch {
      /* closed */
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  while (!fs.existsSync(readyFile)) {
    if (exited !== null || Date.now() > deadline) {
      const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
      if (exited === null) process.kill(-child.pid!, 'SIGKILL');
      cleanup();
      throw new Error(`the bench stack did not start (${exited !== null ? `exit ${exited}` : 'timeout'}); see ${logFile}:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const info = JSON.parse(fs.readFileSync(readyFile, 'utf8'));
  let stopped: Promise<void> | undefined;
  const stack: BenchStack = {
    apiUrl: info.apiUrl,
    databaseUrl: info.databaseUrl,
    ownerDatabaseUrl: info.ownerDatabaseUrl,
    temporalAddress: info.temporalAddress,
    taskQueue: String(env.TEMPORAL_TASK_QUEUE ?? 'transfers'),
    pid: child.pid!,
    dir,
    logFile,
    stop() {
      stopped ??= (async () => {
        running.delete(stack);
        if (child.exitCode === null && child.signalCode === null) {
          const gone = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          const timer = setTimeout(() => {
            try {
              process.kill(-child.pid!, 'SIGKILL');
            } catch {
              /* already gone */
            }
          }, 20_000);
          await gone;
          clearTimeout(timer);
        }
        // Anything of its group still alive (the dev server, postgres) goes too.
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* all gone */
        }
        cleanup();
      })();
      return stopped;
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
