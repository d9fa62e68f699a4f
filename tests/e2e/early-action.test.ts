// An action that reaches a transfer workflow before it has routed the transfer (its first
// workflow task retried after a worker died, while the task is already in the inbox) waits
// for the routing instead of being rejected for want of a handler. Update-with-start
// delivers the action in the very first workflow task, the earliest moment possible.
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { confirmUpdate } from '../../workflows/messages';
import { transferWorkflow } from '../../workflows/transfer';
import { createFixture, insertTransfer, testPrisma } from '../helpers/fixtures';

describe('an action before the transfer is routed', () => {
  let client: Client;
  beforeAll(async () => {
    client = new Client({ connection: await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! }) });
  });
  afterAll(async () => {
    await client?.connection.close();
  });

  it('is held until the first task exists, then decided like any other', async () => {
    const fx = await createFixture();
    const t = await insertTransfer(fx);
    const actor = { userId: fx.users.receiverAcc.id, name: 'receiver', groupRole: null, memberships: [{ entityId: fx.receiver.id, role: 'ACCOUNTANT' as const }] };
    const start = new WithStartWorkflowOperation(transferWorkflow, {
      workflowId: t.workflowId,
      taskQueue: process.env.TEST_TASK_QUEUE!,
      args: [{ transferId: t.id }],
      workflowIdConflictPolicy: 'FAIL',
    });
    const result = await client.workflow.executeUpdateWithStart(confirmUpdate, {
      startWorkflowOperation: start,
      args: [{ actor, receipt: { receiptRef: 'GR-EARLY', quantity: '10', unitPrice: '12.5', amount: '125.00', date: '2026-11-21' } }],
    });
    expect(result.status).toBe('CONFIRMED');
    expect(await (await start.workflowHandle()).result()).toBe('CONFIRMED');
    const audit = await testPrisma().auditEvent.findMany({ where: { transferId: t.id }, orderBy: { at: 'asc' }, select: { action: true } });
    expect(audit.map((a) => a.action)).toEqual(['TRANSFER_ROUTED', 'TRANSFER_CONFIRM']);
    const tasks = await testPrisma().task.findMany({ where: { transferId: t.id } });
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ status: 'DONE', actedById: fx.users.receiverAcc.id });
  });

  it('still gets the real validator: a stranger is refused', async () => {
    const fx = await createFixture();
    const t = await insertTransfer(fx);
    const stranger = { userId: fx.users.thirdAcc.id, name: 'third', groupRole: null, memberships: [{ entityId: fx.third.id, role: 'ACCOUNTANT' as const }] };
    const start = new WithStartWorkflowOperation(transferWorkflow, { workflowId: t.workflowId, taskQueue: process.env.TEST_TASK_QUEUE!, args: [{ transferId: t.id }], workflowIdConflictPolicy: 'FAIL' });
    await expect(
      client.workflow.executeUpdateWithStart(confirmUpdate, {
        startWorkflowOperation: start,
        args: [{ actor: stranger, receipt: { receiptRef: 'GR-X', quantity: '10', unitPrice: '12.5', amount: '125.00', date: '2026-11-21' } }],
      }),
    ).rejects.toMatchObject({ cause: { type: 'NotFound', message: 'transfer not found' } });
    // The transfer is routed and waits for its receiver as usual.
    const task = await testPrisma().task.findFirst({ where: { transferId: t.id } });
    expect(task).toMatchObject({ status: 'OPEN', candidateEntityId: fx.receiver.id });
    await (await start.workflowHandle()).terminate('test done');
  });
});
