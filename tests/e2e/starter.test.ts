// The worker's starter sweep (activities/starter.ts): a transfer saved without its workflow
// (the start was lost) gets one, on the real test stack's Temporal server and worker.
import { Client, Connection } from '@temporalio/client';
import { startOrphansOnce, startOrphanStarter } from '../../activities/starter';
import { createFixture, insertTransfer, testPrisma } from '../helpers/fixtures';
import { until } from '../helpers/wait';

describe('workflow starter sweep', () => {
  let client: Client;
  beforeAll(async () => {
    client = new Client({ connection: await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! }) });
  });
  afterAll(async () => {
    await client?.connection.close();
  });
  const deps = () => ({ prisma: testPrisma(), client, taskQueue: process.env.TEST_TASK_QUEUE! });

  it('starts the workflow of a PENDING transfer without a task once the grace time is over, and only once', async () => {
    const fx = await createFixture();
    const lost = await insertTransfer(fx);
    const fresh = await insertTransfer(fx);
    // Saved three minutes ago: past the grace time. `fresh` was saved just now.
    await testPrisma().transfer.update({ where: { id: lost.id }, data: { createdAt: new Date(Date.now() - 3 * 60_000) } });

    const known = new Map<string, number>();
    // Other tests' lost transfers may come first: sweep until ours is taken.
    await until(async () => (await startOrphansOnce(deps(), { known, limit: 1000 }), known.has(lost.id)), 30_000, 200);
    expect(known.has(fresh.id)).toBe(false);

    const task = await until(() => testPrisma().task.findFirst({ where: { transferId: lost.id } }), 30_000, 200);
    expect(task).toMatchObject({ status: 'OPEN', kind: 'CONFIRM', candidateEntityId: fx.receiver.id });
    const d = await client.workflow.getHandle(lost.workflowId).describe();
    expect(d.status.name).toBe('RUNNING');
    expect(await testPrisma().task.count({ where: { transferId: fresh.id } })).toBe(0);

    // A later pass (a fresh process: nothing known) finds it has a task and leaves it; a
    // workflow that is running but has no task yet gets REJECT_DUPLICATE and is not restarted.
    await startOrphansOnce(deps(), { limit: 1000 });
    const runs = await client.workflow.count(`WorkflowId = '${lost.workflowId}'`);
    expect(runs.count).toBe(1);
    expect(await testPrisma().task.count({ where: { transferId: lost.id } })).toBe(1);
  });

  it('runs in the background until stopped', async () => {
    const fx = await createFixture();
    const lost = await insertTransfer(fx);
    await testPrisma().transfer.update({ where: { id: lost.id }, data: { createdAt: new Date(Date.now() - 10 * 60_000) } });
    const starter = startOrphanStarter(deps(), { intervalMs: 300, limit: 1000 });
    try {
      const task = await until(() => testPrisma().task.findFirst({ where: { transferId: lost.id } }), 30_000, 200);
      expect(task).toMatchObject({ status: 'OPEN', candidateEntityId: fx.receiver.id });
    } finally {
      const t0 = Date.now();
      await starter.stop();
      expect(Date.now() - t0).toBeLessThan(5_000);
    }
  });
});
