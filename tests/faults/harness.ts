// The stack as separate processes, so a fault test can kill one part and restart it:
// the embedded PostgreSQL, the Temporal dev server (SQLite file), the worker
// (`npm run worker`'s entry, activities/worker.ts) and the API (api/server.ts), each
// the leader of its own process group, on free ports, with data in a temp dir that
// survives restarts. Everything dies with the test: close() stops the parts; a
// process 'exit' hook SIGKILLs their groups; and every part carries a watchdog
// (parts/watchdog.js) that kills its group when the test process is gone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { bundleWorkflowCode } from '@temporalio/worker';
import { freePort } from '../../scripts/lib/embedded-postgres';
import { ensureAppLogin } from '../../scripts/lib/app-role';
import { migrateDeploy } from '../../prisma/migrate';

const ROOT = path.resolve(__dirname, '..', '..');
const WATCHDOG = path.join(__dirname, 'parts', 'watchdog.js');
const live = new Set<Part>();
process.once('exit', () => {
  for (const p of live) p.killGroupSync('SIGKILL');
});

export type PartName = 'postgres' | 'temporal' | 'worker' | 'api';

interface PartSpec {
  name: PartName;
  script: string;
  /** Read at every start (the app role's URL is known only after the migrations). */
  env: () => NodeJS.ProcessEnv;
  /** Resolves when the part is ready (given its output so far). */
  ready: (output: () => string) => Promise<void>;
}

/** One part: a node process (group leader) running `script` with tsx and the watchdog. */
export class Part {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private output = '';
  /** Every start, kill and stop, with its time. */
  readonly events: Array<{ at: number; what: 'start' | 'ready' | 'kill' | 'stop' | 'exit'; detail?: string }> = [];

  constructor(private readonly spec: PartSpec, private readonly logFile: string) {}

  get name(): PartName {
    return this.spec.name;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the part and waits until it is ready (ms it took). */
  async start(timeoutMs = 120_000): Promise<number> {
    if (this.running) throw new Error(`${this.name} is already running`);
    const t0 = Date.now();
    this.events.push({ at: t0, what: 'start' });
    this.output = '';
    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `\n==== ${new Date().toISOString()} start ${this.name}\n`);
    const child = spawn(process.execPath, ['--require', WATCHDOG, '--import', 'tsx', this.spec.script], {
      cwd: ROOT,
      env: { ...this.spec.env(), FAULT_PARENT_PID: String(process.pid) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: kill(-pid) takes its children too
    });
    this.child = child;
    live.add(this);
    const collect = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-200_000);
      fs.writeSync(log, d);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    let gone = false;
    this.exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        gone = true;
        live.delete(this);
        this.events.push({ at: Date.now(), what: 'exit', detail: signal ?? String(code) });
        fs.writeSync(log, `\n==== ${new Date().toISOString()} ${this.name} exited (${signal ?? code})\n`);
        fs.closeSync(log);
        resolve();
      }),
    );
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${this.name} not ready within ${timeoutMs} ms`)), timeoutMs).unref());
    const died = this.exited.then(() => {
      throw new Error(`${this.name} exited while starting:\n${this.output.slice(-3000)}`);
    });
    try {
      await Promise.race([this.spec.ready(() => this.output), timeout, died]);
    } catch (err) {
      if (!gone) await this.kill();
      throw err;
    }
    const took = Date.now() - t0;
    this.events.push({ at: Date.now(), what: 'ready', detail: `${took} ms` });
    return took;
  }

  /** kill -9 the whole process group (the part and everything it started). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.events.push({ at: Date.now(), what: 'kill', detail: signal });
    this.killGroupSync(signal);
    await this.exited;
    // Children of the group (postgres, the Temporal binary) may outlive the leader by a moment.
    await waitGroupGone(this.child!.pid!);
  }

  /** Graceful stop (SIGTERM to the group leader), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.events.push({ at: Date.now(), what: 'stop' });
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.killGroupSync('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    this.killGroupSync('SIGKILL'); // anything left in the group
    await waitGroupGone(this.child!.pid!);
  }

  async restart(): Promise<number> {
    await this.kill();
    return this.start();
  }

  killGroupSync(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (!pid) return;
    try {
      process.kill(-pid, signal);
    } catch {
      /* already gone */
    }
  }

  /** Everything the part wrote, over all its starts. */
  logText(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }

  /** Output since the last start. */
  log(): string {
    return this.output;
  }
}

async function waitGroupGone(pgid: number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    if (Date.now() > end) throw new Error(`process group ${pgid} did not exit`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function lineReady(pattern: RegExp) {
  return async (output: () => string) => {
    while (!pattern.test(output())) await new Promise((r) => setTimeout(r, 100));
  };
}

export interface FaultStackOptions {
  /** Name for the temp dir and the log files in artifacts/faults/. */
  name: string;
  /** API env overrides. */
  apiEnv?: NodeJS.ProcessEnv;
}

export class FaultStack {
  readonly postgres: Part;
  readonly temporal: Part;
  readonly worker: Part;
  readonly api: Part;
  /** The role the API and the worker use (member of ic_confirm_app). */
  databaseUrl = '';
  /** The superuser (migrations). */
  ownerDatabaseUrl = '';

  private constructor(
    readonly dir: string,
    readonly apiUrl: string,
    readonly temporalAddress: string,
    private readonly ports: { pg: number; temporal: number; api: number },
    private readonly env: { bundle: string; jwtSecret: string; logDir: string; name: string; apiEnv: NodeJS.ProcessEnv },
  ) {
    const logFile = (part: string) => path.join(env.logDir, `${env.name}-${part}.log`);
    const base = { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info' } as NodeJS.ProcessEnv;
    delete base.DATABASE_URL;
    delete base.TEMPORAL_ADDRESS;
    this.postgres = new Part(
      { name: 'postgres', script: path.join(__dirname, 'parts', 'postgres.ts'), env: () => ({ ...base, PG_DATA_DIR: path.join(dir, 'postgres'), PG_PORT: String(ports.pg) }), ready: lineReady(/^READY /m) },
      logFile('postgres'),
    );
    this.temporal = new Part(
      { name: 'temporal', script: path.join(__dirname, 'parts', 'temporal.ts'), env: () => ({ ...base, TEMPORAL_PORT: String(ports.temporal), TEMPORAL_DB_FILE: path.join(dir, 'temporal.sqlite') }), ready: lineReady(/^READY /m) },
      logFile('temporal'),
    );
    const appEnv = () => ({ ...base, DATABASE_URL: this.databaseUrl, TEMPORAL_ADDRESS: temporalAddress, PUBLIC_URL: apiUrl });
    this.worker = new Part(
      { name: 'worker', script: path.join(ROOT, 'activities', 'worker.ts'), env: () => ({ ...appEnv(), WORKFLOW_BUNDLE: env.bundle }), ready: lineReady(/"msg":"worker started"/) },
      logFile('worker'),
    );
    this.api = new Part(
      {
        name: 'api',
        script: path.join(ROOT, 'api', 'server.ts'),
        env: () => ({
          ...appEnv(),
          HOST: '127.0.0.1',
          PORT: String(ports.api),
          JWT_SECRET: env.jwtSecret,
          DEMO_MODE: 'false',
          RATE_LIMIT_PER_MINUTE: '1000000',
          LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
          ...env.apiEnv,
        }),
        ready: async () => {
          for (;;) {
            try {
              if ((await fetch(`${apiUrl}/healthz`, { signal: AbortSignal.timeout(1000) })).ok) return;
            } catch {
              /* not yet */
            }
            await new Promise((r) => setTimeout(r, 150));
          }
        },
      },
      logFile('api'),
    );
  }

  /** Starts every part, applies the migrations and creates the app login. */
  static async start(opts: FaultStackOptions): Promise<FaultStack> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ic-fault-${opts.name}-`));
    fs.chmodSync(dir, 0o755); // the embedded PostgreSQL runs as the 'postgres' user when we are root
    const logDir = path.join(ROOT, 'artifacts', 'faults');
    fs.mkdirSync(logDir, { recursive: true });
    for (const f of fs.readdirSync(logDir)) if (f.startsWith(`${opts.name}-`) && f.endsWith('.log')) fs.rmSync(path.join(logDir, f));
    let bundle = process.env.TEST_WORKFLOW_BUNDLE;
    if (!bundle || !fs.existsSync(bundle)) {
      bundle = path.join(dir, 'workflow-bundle.js');
      const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } as never });
      fs.writeFileSync(bundle, code);
    }
    const ports = { pg: await freePort(), temporal: await freePort(), api: await freePort() };
    const stack = new FaultStack(dir, `http://127.0.0.1:${ports.api}`, `127.0.0.1:${ports.temporal}`, ports, {
      bundle,
      jwtSecret: `fault-secret-${Math.random().toString(36).slice(2)}-${Date.now()}-padding`,
      logDir,
      name: opts.name,
      apiEnv: opts.apiEnv ?? {},
    });
    try {
      await Promise.all([stack.postgres.start(), stack.temporal.start()]);
      stack.ownerDatabaseUrl = /^READY (\S+)/m.exec(stack.postgres.log())![1];
      await migrateDeploy(stack.ownerDatabaseUrl);
      stack.databaseUrl = await ensureAppLogin(stack.ownerDatabaseUrl);
      await Promise.all([stack.worker.start(), stack.api.start()]);
    } catch (err) {
      await stack.close();
      throw err;
    }
    return stack;
  }

  get parts(): Part[] {
    return [this.api, this.worker, this.temporal, this.postgres];
  }

  /** Stops everything (API, worker, Temporal, PostgreSQL) and removes the temp dir. */
  async close(): Promise<void> {
    for (const p of this.parts) {
      try {
        await p.stop(10_000);
      } catch {
        p.killGroupSync('SIGKILL');
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
