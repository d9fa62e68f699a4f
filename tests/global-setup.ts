// Starts the real stack once per test run, exactly as `npm start` does (scripts/stack.ts),
// but on free ports, in a throw-away data directory, and headless. Tests read its
// addresses from process.env (TEST_*). Works whether or not something already listens
// on the default ports.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { bundleWorkflowCode } from '@temporalio/worker';
import { freePort } from '../scripts/lib/embedded-postgres';

const ROOT = path.resolve(__dirname, '..');

export default async function globalSetup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ic-test-'));
  fs.chmodSync(dir, 0o755); // the embedded PostgreSQL runs as the 'postgres' user when we are root
  const artifacts = path.join(ROOT, 'artifacts');
  fs.mkdirSync(artifacts, { recursive: true });

  // One workflow bundle for the stack's worker and every workflow test.
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } as never });
  fs.writeFileSync(bundlePath, code);

  const readyFile = path.join(dir, 'ready.json');
  const logFile = path.join(artifacts, 'test-stack.log');
  const log = fs.openSync(logFile, 'w');
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
    JWT_SECRET: `test-secret-${Math.random().toString(36).slice(2)}-${Date.now()}-padding`,
    WORKFLOW_BUNDLE: bundlePath,
    STACK_READY_FILE: readyFile,
    STACK_PARENT_PID: String(process.pid),
    // The fuzz test sends thousands of requests as one user.
    RATE_LIMIT_PER_MINUTE: '1000000',
  };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'stack.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', log, log],
    detached: true, // its own process group: teardown stops it and everything it started
  });
  let exited: number | null = null;
  child.once('exit', (c) => (exited = c ?? 1));
  const deadline = Date.now() + 180_000;
  while (!fs.existsSync(readyFile)) {
    if (exited !== null || Date.now() > deadline) {
      const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
      if (exited === null) process.kill(-child.pid!, 'SIGKILL');
      throw new Error(`the test stack did not start (${exited !== null ? `exit ${exited}` : 'timeout'}); see ${logFile}:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const info = JSON.parse(fs.readFileSync(readyFile, 'utf8'));
  process.env.TEST_API_URL = info.apiUrl;
  process.env.TEST_DATABASE_URL = info.databaseUrl; // the role the API and the worker use (ic_confirm_app)
  process.env.TEST_OWNER_DATABASE_URL = info.ownerDatabaseUrl; // the superuser: migrations, the seed
  process.env.TEST_TEMPORAL_ADDRESS = info.temporalAddress;
  process.env.TEST_TASK_QUEUE = 'transfers';
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.TEST_STACK_PID = String(child.pid);
  process.env.TEST_TMP_DIR = dir;
  (globalThis as Record<string, unknown>).__stack = { child, dir, log };
}
