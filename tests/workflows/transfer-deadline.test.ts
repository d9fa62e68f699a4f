// The transfer workflow's deadline on the time-skipping test server: confirm in time,
// reminder before the deadline, escalation to the supervisor at 48 h and to HQ at
// 48 h + 24 h of workflow time (in milliseconds of real time).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { transferWorkflow } from '../../workflows/transfer';
import { confirmUpdate, stateQuery } from '../../workflows/messages';
import type { Actor } from '../../workflows/types';
import { createFixture, insertTransfer, testPrisma, type Fixture } from '../helpers/fixtures';
import { recordHistory, testWorker, timeSkipping, until } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkipping();
});
afterAll(async () => {
  await env?.teardown();
});

const prisma = () => testPrisma();

function actor(fx: Fixture, who: keyof Fixture['users'], memberships: Actor['memberships'], groupRole: Actor['groupRole'] = null): Actor {
  return { userId: fx.users[who].id, name: fx.users[who].username, groupRole, memberships };
}

const receipt = { receiptRef: 'GR-1', quantity: '10', unitPrice: '12.5', amount: '125.00', date: '2026-11-21' };

async function start(fx: Fixture, taskQueue: string) {
  const t = await insertTransfer(fx);
  const handle = await env.client.workflow.start(transferWorkflow, { taskQueue, workflowId: t.workflowId, args: [{ transferId: t.id }] });
  await until(() => prisma().task.findFirst({ where: { transferId: t.id } }));
  return { t, handle };
}

describe('transfer workflow deadline', () => {
  it('confirms in time: CONFIRMED, task done, no reminder or escalation', async () => {
    const fx = await createFixture();
    const { worker, taskQueue } = await testWorker(env);
    await worker.runUntil(async () => {
      const { t, handle } = await start(fx, taskQueue);
      const r = await handle.executeUpdate(confirmUpdate, { args: [{ actor: actor(fx, 'receiverAcc', [{ entityId: fx.receiver.id, role: 'ACCOUNTANT' }]), receipt }] });
      expect(r).toMatchObject({ status: 'CONFIRMED', differences: [] });
      expect(await handle.result()).toBe('CONFIRMED');
      const tasks = await prisma().task.findMany({ where: { transferId: t.id } });
      expect(tasks).toHaveLength(1);
      expect(tasks[0]).toMatchObject({ status: 'DONE', outcome: 'APPROVED', actedById: fx.users.receiverAcc.id });
      const actions = (await prisma().auditEvent.findMany({ where: { transferId: t.id }, orderBy: { id: 'asc' } })).map((a) => a.action);
      expect(actions).toEqual(['TRANSFER_ROUTED', 'TRANSFER_CONFIRM']);
      expect((await prisma().transfer.findUniqueOrThrow({ where: { id: t.id } })).status).toBe('CONFIRMED');
    });
  });

  it('sends a reminder 24 h before the deadline, then is confirmed', async () => {
    const fx = await createFixture();
    const { worker, taskQueue } = await testWorker(env);
    await worker.runUntil(async () => {
      const { t, handle } = await start(fx, taskQueue);
      await env.sleep('25 hours');
      await until(() => prisma().notificationEvent.findFirst({ where: { transferId: t.id, kind: 'REMINDER' } }));
      expect(await prisma().auditEvent.count({ where: { transferId: t.id, action: 'TRANSFER_REMINDER' } })).toBe(1);
      expect((await handle.query(stateQuery)).escalationLevel).toBe(0);
      const r = await handle.executeUpdate(confirmUpdate, { args: [{ actor: actor(fx, 'receiverAcc', [{ entityId: fx.receiver.id, role: 'ACCOUNTANT' }]), receipt }] });
      expect(r.status).toBe('CONFIRMED');
      expect(await prisma().task.count({ where: { transferId: t.id, escalationLevel: { gt: 0 } } })).toBe(0);
      await recordHistory(handle, 'reminder-confirm');
    });
  });

  it('escalates to the supervisor at 48 h and to HQ finance 24 h later; the receiver can still confirm', async () => {
    const fx = await createFixture();
    const { worker, taskQueue } = await testWorker(env);
    await worker.runUntil(async () => {
      const { t, handle } = await start(fx, taskQueue);
      await env.sleep('48 hours');
      const sup = await until(() => prisma().task.findFirst({ where: { transferId: t.id, escalationLevel: 1 } }));
      expect(sup).toMatchObject({ status: 'OPEN', candidateEntityId: fx.receiver.id, candidateRole: 'SUPERVISOR' });
      const dueSup = sup.dueAt.getTime();
      await env.sleep('24 hours');
      const hq = await until(() => prisma().task.findFirst({ where: { transferId: t.id, escalationLevel: 2 } }));
      expect(hq).toMatchObject({ status: 'OPEN', candidateGroupRole: 'HQ_FINANCE', candidateEntityId: null });
      expect(hq.dueAt.getTime()).toBeGreaterThanOrEqual(dueSup + 24 * 3600_000 - 60_000);
      const notices = await prisma().notificationEvent.findMany({ where: { transferId: t.id }, orderBy: { createdAt: 'asc' } });
      expect(notices.map((n) => n.kind)).toEqual(['TASK_ASSIGNED', 'REMINDER', 'ESCALATED', 'ESCALATED']);
      const row = await prisma().transfer.findUniqueOrThrow({ where: { id: t.id } });
      expect(row.escalationLevel).toBe(2);

      // The original assignee can still act after escalation; the escalation tasks are withdrawn.
      const r = await handle.executeUpdate(confirmUpdate, { args: [{ actor: actor(fx, 'receiverAcc', [{ entityId: fx.receiver.id, role: 'ACCOUNTANT' }]), receipt }] });
      expect(r.status).toBe('CONFIRMED');
      const tasks = await prisma().task.findMany({ where: { transferId: t.id }, orderBy: { escalationLevel: 'asc' } });
      expect(tasks.map((x) => [x.escalationLevel, x.status])).toEqual([
        [0, 'DONE'],
        [1, 'WITHDRAWN'],
        [2, 'WITHDRAWN'],
      ]);
      await recordHistory(handle, 'escalation-hq');
    });
  });
});
