// Workflow tests: the real time-skipping test server (from .tools/venv, see
// scripts/bootstrap.js) with a real worker running the real activities on the test
// PostgreSQL.
import fs from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { temporalTestServer } from '../../scripts/lib/temporal-server';
import { testPrisma, uid } from './fixtures';

let runtimeReady = false;

export async function timeSkipping(): Promise<TestWorkflowEnvironment> {
  if (!runtimeReady) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeReady = true;
  }
  const serverPath = temporalTestServer();
  if (!serverPath) throw new Error('temporal-test-server not found: run `node scripts/bootstrap.js --test`');
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: serverPath } } });
}

export async function testWorker(env: TestWorkflowEnvironment, activities = createActivities({ prisma: testPrisma() })) {
  const taskQueue = `test-${uid()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
    activities,
  });
  return { worker, taskQueue };
}

export async function until<T>(fn: () => Promise<T | null | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Replay fixtures: with RECORD_HISTORIES=1, workflow tests save the history of the
 * scenarios they name into tests/replay/histories/ (committed). tests/replay replays
 * every file there against the current workflow code, so a change that breaks
 * determinism for running transfers fails CI.
 */
export async function recordHistory(handle: { fetchHistory(): Promise<unknown>; workflowId: string }, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  // Histories recorded before a change are the point of the replay test: never overwrite.
  const file = path.join(__dirname, '..', 'replay', 'histories', `${name}.json`);
  if (fs.existsSync(file)) return;
  const history = (await handle.fetchHistory()) as Parameters<typeof historyToJSON>[0];
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, historyToJSON(history));
}
