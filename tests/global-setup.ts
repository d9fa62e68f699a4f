// Starts the real stack once per test run, exactly as `npm start` does (scripts/stack.ts),
// but on free ports, in a throw-away data directory, and headless. Tests read its
// addresses from process.env (TEST_*). Works whether or not something already listens
// on the default ports.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { spawnStack } from '../scripts/lib/spawn-stack';

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

  const stack = await spawnStack({
    name: 'ic-test-stack',
    logFile: path.join(artifacts, 'test-stack.log'),
    env: {
      WORKFLOW_BUNDLE: bundlePath,
      // The fuzz test sends thousands of requests as one user.
      RATE_LIMIT_PER_MINUTE: '1000000',
    },
    readyTimeoutMs: 180_000,
  });
  const { info, child } = stack;
  process.env.TEST_API_URL = info.apiUrl;
  process.env.TEST_DATABASE_URL = info.databaseUrl; // the role the API and the worker use (ic_confirm_app)
  process.env.TEST_OWNER_DATABASE_URL = info.ownerDatabaseUrl; // the superuser: migrations, the seed
  process.env.TEST_TEMPORAL_ADDRESS = info.temporalAddress;
  process.env.TEST_TASK_QUEUE = 'transfers';
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.TEST_STACK_PID = String(child.pid);
  process.env.TEST_TMP_DIR = dir;
  (globalThis as Record<string, unknown>).__stack = stack;
  // the bundle's directory (not the stack's) goes at teardown
  (globalThis as Record<string, unknown>).__testTmpDir = dir;
}
