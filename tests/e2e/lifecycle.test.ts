// `npm start`'s stack as a process: a clear message instead of a stack trace when it
// cannot start; SIGINT (Ctrl-C) stops everything it started; a second start reuses the
// data. Runs its own stack on free ports in a throw-away directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { spawn, execFileSync } from 'node:child_process';
import { Client as PgClient } from 'pg';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../../scripts/lib/embedded-postgres';
import { createFixture, insertTransfer, testPrisma } from '../helpers/fixtures';

const ROOT = path.resolve(__dirname, '..', '..');

interface Run {
  code: Promise<number>;
  output: () => string;
  pid: number;
}

function runStack(env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'stack.ts')], {
    cwd: ROOT,
    // STACK_PARENT_PID: a failed assertion before the test stops it leaves no stack behind.
    env: { ...process.env, DEMO_MODE: 'true', LOG_FORMAT: 'json', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', DATABASE_URL: '', TEMPORAL_ADDRESS: '', STACK_PARENT_PID: String(process.pid), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const code = new Promise<number>((resolve) => child.once('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1))));
  return { code, output: () => out, pid: child.pid! };
}

async function waitForFile(file: string, run: Run, ms = 120_000): Promise<any> {
  const end = Date.now() + ms;
  let exited = false;
  void run.code.then(() => (exited = true));
  while (!fs.existsSync(file)) {
    if (exited || Date.now() > end) throw new Error(`stack did not become ready:\n${run.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function processesUsing(marker: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', marker], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim() && !l.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('the stack process (npm start)', () => {
  jest.setTimeout(240_000);

  it('says which port is taken and how to fix it, without a stack trace', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ic-life-'));
      fs.chmodSync(dir, 0o755);
      const run = runStack({ PG_DATA_DIR: path.join(dir, 'pg'), PG_PORT: String(taken), TEMPORAL_PORT: String(await freePort()) });
      expect(await run.code).toBe(1);
      expect(run.output()).toContain(`cannot start: port ${taken} for the embedded PostgreSQL is already in use`);
      expect(run.output()).toContain('how to fix: set PG_PORT to a free port');
      expect(run.output()).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
      fs.rmSync(dir, { recursive: true, force: true });
    } finally {
      blocker.close();
    }
  });

  it('names a bad environment variable', async () => {
    const run = runStack({ PG_PORT: 'not-a-port' });
    expect(await run.code).toBe(1);
    expect(run.output()).toContain('PG_PORT: must be integer (got "not-a-port")');
  });

  it('stops everything on SIGINT (the worker in its own process too) and reuses the data on the next start', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ic-life-'));
    fs.chmodSync(dir, 0o755);
    const env = {
      PG_DATA_DIR: path.join(dir, 'pg'),
      PG_PORT: String(await freePort()),
      TEMPORAL_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      TEMPORAL_DB_FILE: path.join(dir, 'temporal.sqlite'),
      STACK_READY_FILE: path.join(dir, 'ready.json'),
      WORKFLOW_BUNDLE: process.env.TEST_WORKFLOW_BUNDLE!,
    };
    // The first run with the worker in a process of its own (STACK_WORKER=process, as the benchmarks run it).
    const first = runStack({ ...env, STACK_WORKER: 'process' });
    const info = await waitForFile(env.STACK_READY_FILE, first);
    const workerPid = Number(/"workerPid":(\d+),"msg":"worker process started"/.exec(first.output())?.[1]);
    expect(workerPid).toBeGreaterThan(0);
    expect(workerPid).not.toBe(first.pid);
    expect(first.output()).toContain('Demo logins (password "demo")');
    expect(first.output()).toContain('sh01.accountant');
    const login = await fetch(`${info.apiUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'hq.finance', password: 'demo' }),
    });
    expect(login.status).toBe(200);
    const pg = new PgClient({ connectionString: info.databaseUrl });
    await pg.connect();
    await pg.query(`UPDATE "Group" SET name = 'kept between runs' WHERE code = 'DEMO'`);
    // The worker process runs the transfer's workflow: its first task appears.
    const acc = await fetch(`${info.apiUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'sh01.accountant', password: 'demo' }),
    }).then((r) => r.json() as Promise<{ token: string }>);
    const created = await fetch(`${info.apiUrl}/api/transfers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${acc.token}` },
      body: JSON.stringify({ senderEntity: 'SH01', receiverEntity: 'SZ02', type: 'GOODS', externalRef: `LIFE-${Date.now()}`, quantity: '2', unit: 'PCS', unitPrice: '5', amount: '10.00', currency: 'CNY', documentDate: '2026-11-20', period: '2026-11' }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const end = Date.now() + 30_000;
    let tasks = 0;
    while (tasks === 0 && Date.now() < end) {
      tasks = Number((await pg.query(`SELECT count(*) AS n FROM "Task" WHERE "transferId" = $1`, [id])).rows[0].n);
      if (tasks === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(tasks).toBe(1);
    await pg.end();
    expect(processesUsing(dir).length).toBeGreaterThanOrEqual(2); // postgres + temporal

    process.kill(-first.pid, 'SIGINT'); // what Ctrl-C does: the whole process group
    expect(await first.code).toBe(0);
    expect(first.output()).toContain('"msg":"stopped"');
    expect(first.output()).not.toContain('the worker process exited');
    expect(processesUsing(dir)).toEqual([]);
    expect(() => process.kill(workerPid, 0)).toThrow(); // gone

    fs.rmSync(env.STACK_READY_FILE);
    const second = runStack(env);
    const again = await waitForFile(env.STACK_READY_FILE, second);
    const pg2 = new PgClient({ connectionString: again.databaseUrl });
    await pg2.connect();
    const rows = (await pg2.query(`SELECT name FROM "Group" WHERE code = 'DEMO'`)).rows;
    await pg2.end();
    expect(rows).toEqual([{ name: 'kept between runs' }]);
    expect(second.output()).toContain('database schema is up to date');
    expect(second.output()).not.toContain('seeded the demo group');

    process.kill(second.pid, 'SIGTERM'); // SIGTERM to the stack alone stops its children too
    expect(await second.code).toBe(0);
    expect(processesUsing(dir)).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('each part alone (npm run api / npm run worker)', () => {
  jest.setTimeout(120_000);

  function part(file: string, env: Record<string, string>) {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, file)], {
      cwd: ROOT,
      env: { ...process.env, LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const code = new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
    return { child, code, output: () => out };
  }

  it('refuses to start with a clear message naming the bad variables', async () => {
    const api = part('api/server.ts', { DATABASE_URL: '', PORT: 'abc', JWT_SECRET: '' });
    expect(await api.code).toBe(1);
    expect(api.output()).toContain('api: invalid environment:');
    expect(api.output()).toContain('DATABASE_URL: is required but not set');
    expect(api.output()).toContain('PORT: must be integer (got "abc")');
    const worker = part('activities/worker.ts', { DATABASE_URL: 'postgresql://x@y/z', TEMPORAL_ADDRESS: 'nohost' });
    expect(await worker.code).toBe(1);
    expect(worker.output()).toContain('worker: invalid environment:\n  TEMPORAL_ADDRESS: must match pattern');
    const noSecret = part('api/server.ts', { DATABASE_URL: 'postgresql://x@y/z', DEMO_MODE: 'false', JWT_SECRET: '' });
    expect(await noSecret.code).toBe(1);
    expect(noSecret.output()).toContain('JWT_SECRET: is required (32+ characters) unless DEMO_MODE=true');
  });

  it('the API alone serves against external PostgreSQL and Temporal, and closes on SIGTERM', async () => {
    const port = await freePort();
    const api = part('api/server.ts', {
      DATABASE_URL: process.env.TEST_DATABASE_URL!,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
      PORT: String(port),
      JWT_SECRET: 'a-secret-that-is-long-enough-for-hs256-0123',
    });
    // Ready once both dependencies answer (under a loaded test run that can take a moment).
    let ready: Response | undefined;
    for (let i = 0; i < 150 && ready?.status !== 200; i++) {
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      if (ready?.status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ready?.status).toBe(200);
    api.child.kill('SIGTERM');
    expect(await api.code).toBe(0);
    expect(api.output()).toContain('"msg":"closing"');
  });

  it('the worker alone runs transfer workflows from its task queue', async () => {
    const taskQueue = `alone-${Date.now()}`;
    const worker = part('activities/worker.ts', {
      DATABASE_URL: process.env.TEST_DATABASE_URL!,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
      TEMPORAL_TASK_QUEUE: taskQueue,
      WORKFLOW_BUNDLE: process.env.TEST_WORKFLOW_BUNDLE!,
    });
    const fx = await createFixture();
    const t = await insertTransfer(fx);
    const connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    try {
      await new Client({ connection }).workflow.start('transferWorkflow', { taskQueue, workflowId: t.workflowId, args: [{ transferId: t.id }] });
      let task = null;
      for (let i = 0; i < 150 && !task; i++) {
        task = await testPrisma().task.findFirst({ where: { transferId: t.id } });
        if (!task) await new Promise((r) => setTimeout(r, 200));
      }
      expect(task).toMatchObject({ status: 'OPEN', candidateEntityId: fx.receiver.id });
    } finally {
      await connection.close();
      worker.child.kill('SIGTERM');
    }
    expect(await worker.code).toBe(0);
    expect(worker.output()).toContain('worker stopped');
  });
});
