// Workflow tests: the real time-skipping test server (from .tools/venv, see
// scripts/bootstrap.js) with a real worker running the real activities on the test
// PostgreSQL.
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
  const path = temporalTestServer();
  if (!path) throw new Error('temporal-test-server not found: run `node scripts/bootstrap.js --test`');
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
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
