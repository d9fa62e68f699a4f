// Starts the whole stack (scripts/stack.ts: embedded PostgreSQL, Temporal dev server,
// worker, API) as a child process for the tests (tests/global-setup.ts) and the benchmarks
// (bench/lib/stack.ts): on free ports, in a throw-away directory, headless, in its own
// process group, stopping by itself if the parent dies (STACK_PARENT_PID). stop() ends
// everything it started (SIGTERM, the same clean shutdown as Ctrl-C; SIGKILL to the group
// after 20 s) and removes the directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './embedded-postgres';
import type { StackInfo } from '../stack';
import { tsxArgs } from './node-process';

const ROOT = path.resolve(__dirname, '..', '..');

export interface SpawnedStack {
  info: StackInfo;
  child: ChildProcess;
  /** The throw-away directory (data, ready file); removed by stop(). */
  dir: string;
  logFile: string;
  /** The environment the stack was started with. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function spawnStack(opts: {
  /** Prefix of the temp directory. */
  name: string;
  /** Where the stack's output goes (truncated). */
  logFile: string;
  /** Added to (and overriding) the defaults below. */
  env?: NodeJS.ProcessEnv;
  /** Called with the new directory before the stack starts (e.g. to put files there). */
  prepare?: (dir: string) => NodeJS.ProcessEnv | Promise<NodeJS.ProcessEnv>;
  readyTimeoutMs?: number;
}): Promise<SpawnedStack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${opts.name}-`));
  fs.chmodSync(dir, 0o755); // the embedded PostgreSQL runs as the 'postgres' user when we are root
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const log = fs.openSync(opts.logFile, 'w');
  const readyFile = path.join(dir, 'ready.json');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DEMO_MODE: 'true',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    PG_DATA_DIR: path.join(dir, 'postgres'),
    PG_PORT: String(await freePort()),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    TEMPORAL_DB_FILE: path.join(dir, 'temporal.sqlite'),
    PORT: '0',
    HOST: '127.0.0.1',
    JWT_SECRET: `${opts.name}-secret-${Math.random().toString(36).slice(2)}-${Date.now()}-padding`,
    STACK_READY_FILE: readyFile,
    STACK_PARENT_PID: String(process.pid),
    ...(opts.prepare ? await opts.prepare(dir) : {}),
    ...opts.env,
  };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  const child = spawn(process.execPath, tsxArgs('scripts/stack.ts', env), {
    cwd: ROOT,
    env,
    stdio: ['ignore', log, log],
    detached: true, // its own process group: stop() ends it and everything it started
  });
  let exited: number | null = null;
  child.once('exit', (c) => (exited = c ?? 1));
  const cleanup = () => {
    try {
      fs.closeSync(log);
    } catch {
      /* closed */
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* all gone */
    }
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 240_000);
  while (!fs.existsSync(readyFile)) {
    if (exited !== null || Date.now() > deadline) {
      const tail = fs.readFileSync(opts.logFile, 'utf8').split('\n').slice(-30).join('\n');
      killGroup();
      cleanup();
      throw new Error(`the stack did not start (${exited !== null ? `exit ${exited}` : 'timeout'}); see ${opts.logFile}:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const info = JSON.parse(fs.readFileSync(readyFile, 'utf8')) as StackInfo;
  let stopped: Promise<void> | undefined;
  return {
    info,
    child,
    dir,
    logFile: opts.logFile,
    env,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const gone = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          const timer = setTimeout(killGroup, 20_000);
          await gone;
          clearTimeout(timer);
        }
        killGroup(); // anything of its group still alive (the dev server, postgres) goes too
        cleanup();
      })();
      return stopped;
    },
  };
}
