// Every branch of the transfer workflow's routing and actions, on the time-skipping
// test server with the real activities writing to PostgreSQL.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { transferWorkflow } from '../../workflows/transfer';
import {
  approveTaskUpdate,
  confirmUpdate,
  delegateTaskUpdate,
  disputeUpdate,
  rejectTaskUpdate,
  rejectUpdate,
  stateQuery,
  transferTaskUpdate,
  withdrawUpdate,
} from '../../workflows/messages';
import type { Actor, Colleague } from '../../workflows/types';
import { createActivities } from '../../activities';
import { createFixture, insertTransfer, testPrisma, uid, type Fixture, type TransferFields } from '../helpers/fixtures';
import { recordHistory, testWorker, timeSkipping, until } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkipping();
});
afterAll(async () => {
  await env?.teardown();
});

const prisma = () => testPrisma();
type Who = keyof Fixture['users'];

function as(fx: Fixture, who: Who): Actor {
  const m: Record<Who, Actor['memberships']> = {
    senderAcc: [{ entityId: fx.sender.id, role: 'ACCOUNTANT' }],
    senderSup: [{ entityId: fx.sender.id, role: 'SUPERVISOR' }],
    receiverAcc: [{ entityId: fx.receiver.id, role: 'ACCOUNTANT' }],
    receiverAcc2: [{ entityId: fx.receiver.id, role: 'ACCOUNTANT' }],
    receiverSup: [{ entityId: fx.receiver.id, role: 'SUPERVISOR' }],
    thirdAcc: [{ entityId: fx.third.id, role: 'ACCOUNTANT' }],
    hq: [{ entityId: fx.hq.id, role: 'SUPERVISOR' }],
  };
  return { userId: fx.users[who].id, name: fx.users[who].username, groupRole: who === 'hq' ? 'HQ_FINANCE' : null, memberships: m[who] };
}
const colleague = (fx: Fixture, who: Who): Colleague => {
  const { userId, name, groupRole, memberships } = as(fx, who);
  return { userId, name, groupRole, memberships };
};

const receipt = { receiptRef: 'GR-1', quantity: '10', unitPrice: '12.5', amount: '125.00', date: '2026-11-21' };

async function failureOf(p: Promise<unknown>): Promise<{ type: string | undefined; message: string }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (err as WorkflowUpdateFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    return { type: (cause as ApplicationFailure).type ?? undefined, message: (cause as ApplicationFailure).message };
  }
  throw new Error('expected the update to be rejected');
}

async function policy(fx: Fixture, mode: 'COUNTERSIGN' | 'EITHER_SIGN' | 'SEQUENTIAL', levels: unknown[]) {
  await prisma().approvalPolicy.create({ data: { entityId: fx.receiver.id, name: `${mode} ${uid()}`, mode, levels: levels as object[], priority: 5 } });
}

async function run(fx: Fixture, body: (h: WorkflowHandle<typeof transferWorkflow>, transferId: string) => Promise<void>, fields: TransferFields = {}, name?: string) {
  const { worker, taskQueue } = await testWorker(env);
  await worker.runUntil(async () => {
    const t = await insertTransfer(fx, fields);
    const h = await env.client.workflow.start(transferWorkflow, { taskQueue, workflowId: t.workflowId, args: [{ transferId: t.id }] });
    await until(() => prisma().task.findFirst({ where: { transferId: t.id } }));
    await body(h, t.id);
    if (name) await recordHistory(h, name);
  });
}

const tasksOf = (transferId: string) => prisma().task.findMany({ where: { transferId }, orderBy: [{ createdAt: 'asc' }, { level: 'asc' }] });
const transferOf = (id: string) => prisma().transfer.findUniqueOrThrow({ where: { id } });

describe('receiver actions (SINGLE routing)', () => {
  it('a mismatch makes the transfer DISPUTED with each difference listed', async () => {
    const fx = await createFixture();
    await run(
      fx,
      async (h, id) => {
        const r = await h.executeUpdate(confirmUpdate, {
          args: [{ actor: as(fx, 'receiverAcc'), receipt: { receiptRef: 'GR-9', quantity: '9', unitPrice: '12.5', amount: '112.50', date: '2026-11-21' } }],
        });
        expect(r.status).toBe('DISPUTED');
        expect(r.differences).toEqual([
          { field: 'quantity', senderValue: '10', receiverValue: '9', delta: '-1' },
          { field: 'amount', senderValue: '125', receiverValue: '112.5', delta: '-12.5' },
        ]);
        // A dispute now waits for HQ arbitration (tests/workflows/arbitration.test.ts).
        expect(await until(async () => (await h.query(stateQuery)).arbitrationOpen)).toBe(true);
        const t = await transferOf(id);
        expect(t.status).toBe('DISPUTED');
        expect(t.receiptQuantity?.toString()).toBe('9');
        expect(t.receiptRef).toBe('GR-9');
        expect(t.differences).toEqual(r.differences);
        expect((await tasksOf(id))[0]).toMatchObject({ status: 'DONE', outcome: 'MISMATCH' });
      },
      {},
      'single-mismatch-arbitration',
    );
  });

  it('dispute with a reason code and proposal → DISPUTED', async () => {
    const fx = await createFixture();
    await run(
      fx,
      async (h, id) => {
        const r = await h.executeUpdate(disputeUpdate, { args: [{ actor: as(fx, 'receiverAcc'), reason: 'PRICE', text: 'agreed price was 12.00', proposal: { unitPrice: '12', amount: '120.00' } }] });
        expect(r.status).toBe('DISPUTED');
        const t = await transferOf(id);
        expect(t).toMatchObject({ status: 'DISPUTED', disputeReason: 'PRICE', disputeText: 'agreed price was 12.00', disputeProposal: { unitPrice: '12', amount: '120.00' } });
      },
      {},
      // Recorded with the first steps as local activities (patch local-first-steps).
      'dispute-local-first-steps',
    );
  });

  it('reject → REJECTED and the sender is notified', async () => {
    const fx = await createFixture();
    await run(
      fx,
      async (h, id) => {
        expect((await h.executeUpdate(rejectUpdate, { args: [{ actor: as(fx, 'receiverAcc'), reason: 'not ours: never ordered' }] })).status).toBe('REJECTED');
        expect(await transferOf(id)).toMatchObject({ status: 'REJECTED', rejectReason: 'not ours: never ordered' });
        const n = await prisma().notificationEvent.findFirstOrThrow({ where: { transferId: id, kind: 'TRANSFER_REJECTED' } });
        expect(n).toMatchObject({ entityId: fx.sender.id, recipients: [fx.users.senderAcc.id] });
        const audit = await prisma().auditEvent.findFirstOrThrow({ where: { transferId: id, action: 'TRANSFER_REJECT' } });
        expect(audit).toMatchObject({ actorId: fx.users.receiverAcc.id, reason: 'not ours: never ordered', before: { status: 'PENDING', level: 0 } });
      },
      {},
      'single-reject',
    );
  });

  it('refuses the wrong actors with a clear error and records nothing', async () => {
    const fx = await createFixture();
    await run(fx, async (h, id) => {
      expect(await failureOf(h.executeUpdate(confirmUpdate, { args: [{ actor: as(fx, 'thirdAcc'), receipt }] }))).toEqual({ type: 'NotFound', message: 'transfer not found' });
      expect(await failureOf(h.executeUpdate(confirmUpdate, { args: [{ actor: as(fx, 'senderAcc'), receipt }] }))).toEqual({ type: 'Forbidden', message: 'you have no open task on this transfer' });
      expect(await failureOf(h.executeUpdate(rejectUpdate, { args: [{ actor: as(fx, 'receiverAcc'), reason: '  ' }] }))).toMatchObject({ type: 'Invalid' });
      expect(await failureOf(h.executeUpdate(confirmUpdate, { args: [{ actor: as(fx, 'receiverAcc'), receipt: { ...receipt, amount: '999.00' } }] }))).toMatchObject({
        type: 'Invalid',
        message: 'receipt amount must equal quantity × unit price (to the cent)',
      });
      expect(await prisma().auditEvent.count({ where: { transferId: id } })).toBe(1); // TRANSFER_ROUTED only
      // The creator of a transfer never approves it, even as a member of the receiver.
      await prisma().membership.create({ data: { userId: fx.users.senderAcc.id, entityId: fx.receiver.id, role: 'ACCOUNTANT' } });
      const both = { ...as(fx, 'senderAcc'), memberships: [...as(fx, 'senderAcc').memberships, { entityId: fx.receiver.id, role: 'ACCOUNTANT' as const }] };
      expect(await failureOf(h.executeUpdate(confirmUpdate, { args: [{ actor: both, receipt }] }))).toEqual({ type: 'Forbidden', message: 'nobody approves a transfer they created' });
      // After the end, every action is a conflict.
      await h.executeUpdate(confirmUpdate, { args: [{ actor: as(fx, 'receiverAcc'), receipt }] });
      expect(await h.result()).toBe('CONFIRMED');
    });
  });

  it('the sender withdraws while nobody has acted → WITHDRAWN; not after someone acted', async () => {
    const fx = await createFixture();
    await run(
      fx,
      async (h, id) => {
        expect(await failureOf(h.executeUpdate(withdrawUpdate, { args: [{ actor: as(fx, 'receiverAcc') }] }))).toMatchObject({ type: 'Forbidden' });
        expect((await h.executeUpdate(withdrawUpdate, { args: [{ actor: as(fx, 'senderAcc'), reason: 'booked twice' }] })).status).toBe('WITHDRAWN');
        expect(await h.result()).toBe('WITHDRAWN');
        expect((await tasksOf(id)).map((t) => t.status)).toEqual(['WITHDRAWN']);
        expect((await transferOf(id)).closedAt).not.toBeNull();
      },
      {},
      'single-withdraw',
    );
    const fx2 = await createFixture();
    await run(fx2, async (h, id) => {
      const [task] = await tasksOf(id);
      expect((await h.query(stateQuery)).tasks).toHaveLength(1);
      await h.executeUpdate(transferTaskUpdate, { args: [{ actor: as(fx2, 'receiverAcc'), taskId: task.id, to: colleague(fx2, 'receiverAcc2') }] });
      expect(await failureOf(h.executeUpdate(withdrawUpdate, { args: [{ actor: as(fx2, 'senderAcc') }] }))).toEqual({
        type: 'Conflict',
        message: 'somebody has already acted on this transfer; it can no longer be withdrawn',
      });
    });
  });
});

describe('routing modes', () => {
  it('COUNTERSIGN (会签): every approver must approve', async () => {
    const fx = await createFixture();
    await policy(fx, 'COUNTERSIGN', [{ users: [fx.users.receiverAcc.username, fx.users.receiverAcc2.username] }]);
    await run(
      fx,
      async (h, id) => {
        const tasks = await until(async () => ((await tasksOf(id)).length === 2 ? tasksOf(id) : null));
        expect(tasks.map((t) => t.assigneeId).sort()).toEqual([fx.users.receiverAcc.id, fx.users.receiverAcc2.id].sort());
        const mine = tasks.find((t) => t.assigneeId === fx.users.receiverAcc.id)!;
        const theirs = tasks.find((t) => t.assigneeId === fx.users.receiverAcc2.id)!;
        // An approver cannot act on the other's task.
        expect(await failureOf(h.executeUpdate(approveTaskUpdate, { args: [{ actor: as(fx, 'receiverAcc'), taskId: theirs.id }] }))).toMatchObject({ type: 'Forbidden' });
        expect((await h.executeUpdate(approveTaskUpdate, { args: [{ actor: as(fx, 'receiverAcc'), taskId: mine.id }] })).status).toBe('PENDING');
        expect(await failureOf(h.executeUpdate(approveTaskUpdate, { args: [{ actor: as(fx, 'receiverAcc'), taskId: mine.id }] }))).toEqual({ type: 'Conflict', message: 'task is already DONE' });
        expect((await h.executeUpdate(approveTaskUpdate, { args: [{ actor: as(fx, 'receiverAcc2'), taskId: theirs.id }] })).status).toBe('CONFIRMED');
        expect((await tasksOf(id)).map((t) => t.status)).toEqual(['DONE', 'DONE']);
        // Approving without figures accepts the sender's figures as the receiver's.
        expect((await transferOf(id)).receiptAmount?.toString()).toBe('125');
      },
      { type: 'SERVICE' },
      'countersign-approve',
    );
  });

  it('COUNTERSIGN: one rejection rejects the transfer and withdraws the rest', async () => {
    const fx = await createFixture();
    await policy(fx, 'COUNTERSIGN', [{ users: [fx.users.receiverAcc.username, fx.users.receiverAcc2.username] }]);
    await run(fx, async (h, id) => {
      const tasks = await until(async () => ((await tasksOf(id)).length === 2 ? tasksOf(id) : null));
      const a = tasks.find((t) => t.assigneeId === fx.users.receiverAcc.id)!;
      const b = tasks.find((t) => t.assigneeId === fx.users.receiverAcc2.id)!;
      await h.executeUpdate(approveTaskUpdate, { args: [{ actor: as(fx, 'receiverAcc'), taskId: a.id }] });
      expect((await h.executeUpdate(rejectTaskUpdate, { args: [{ actor: as(fx, 'receiverAcc2'), taskId: b.id, reason: 'price not agreed' }] })).status).toBe('REJECTED');
      expect(await h.result()).toBe('REJECTED');
      expect(await transferOf(id)).toMatchObject({ status: 'REJECTED', rejectReason: 'price not agreed' });
    });
  });

  it('EITHER_SIGN (或签): the first approver decides; the other tasks are withdrawn', async () => {
    const fx = await createFixture();
    await policy(fx, 'EITHER_SIGN', [{ users: [fx.users.receiverAcc.username, fx.users.receiverAcc2.username] }]);
    await run(
      fx,
      async (h, id) => {
        const tasks = await until(async () => ((await tasksOf(id)).length === 2 ? tasksOf(id) : null));
        const b = tasks.find((t) => t.assigneeId === fx.users.receiverAcc2.id)!;
        expect((await h.executeUpdate(approveTaskUpdate, { args: [{ actor: as(fx, 'receiverAcc2'), taskId: b.id }] })).status).toBe('CONFIRMED');
        const after = await tasksOf(id);
        expect(after.find((t) => t.id === b.id)!.status).toBe('DONE');
        expect(after.find((t) => t.id !== b.id)!.status).toBe('WITHDRAWN');
      },
      {},
      'either-sign',
    );
  });

  it('SEQUENTIAL: the accountant confirms, then the supervisor approves', async () => {
    const fx = await createFixture();
    await policy(fx, 'SEQUENTIAL', [{ role: 'ACCOUNTANT' }, { role: 'SUPERVISOR' }]);
    await run(
      fx,
      async (h, id) => {
        const r1 = await h.executeUpdate(confirmUpdate, { args: [{ actor: as(fx, 'receiverAcc'), receipt }] });
        expect(r1.status).toBe('PENDING');
        const tasks = await tasksOf(id);
        expect(tasks.map((t) => [t.level, t.kind, t.status, t.candidateRole])).toEqual([
          [0, 'CONFIRM', 'DONE', 'ACCOUNTANT'],
          [1, 'APPROVE', 'OPEN', 'SUPERVISOR'],
        ]);
        expect((await transferOf(id)).level).toBe(1);
        // The accountant cannot approve the supervisor's level.
        expect(await failureOf(h.executeUpdate(approveTaskUpdate, { args: [{ actor: as(fx, 'receiverAcc'), taskId: tasks[1].id }] }))).toMatchObject({ type: 'Forbidden' });
        const r2 = await h.executeUpdate(approveTaskUpdate, { args: [{ actor: as(fx, 'receiverSup'), taskId: tasks[1].id }] });
        expect(r2.status).toBe('CONFIRMED');
        expect((await transferOf(id)).receiptRef).toBe('GR-1');
      },
      {},
      'sequential',
    );
  });

  it('picks the policy by amount band and records it on the transfer', async () => {
    const fx = await createFixture();
    await prisma().approvalPolicy.create({
      data: { entityId: fx.receiver.id, name: 'big ones', mode: 'SEQUENTIAL', minAmount: '1000000', levels: [{ role: 'ACCOUNTANT' }, { role: 'SUPERVISOR' }], priority: 5 },
    });
    await run(fx, async (_h, id) => {
      expect((await transferOf(id)).policy).toMatchObject({ mode: 'SINGLE', name: 'default: any accountant of the receiver' });
    });
    await run(
      fx,
      async (_h, id) => {
        const t = await transferOf(id);
        expect(t.policy).toMatchObject({ mode: 'SEQUENTIAL', name: 'big ones', levels: [{ candidateRole: 'ACCOUNTANT' }, { candidateRole: 'SUPERVISOR' }] });
        // Editing the policy afterwards does not change the running transfer.
        await prisma().approvalPolicy.updateMany({ where: { entityId: fx.receiver.id }, data: { active: false } });
      },
      { quantity: '100000', unitPrice: '12.5', amount: '1250000.00' },
    );
  });
});

describe('delegation (委派), transfer (转办) and out-of-office', () => {
  it('a delegate gives an opinion and the task returns to its owner, who decides', async () => {
    const fx = await createFixture();
    await run(
      fx,
      async (h, id) => {
        const [task] = await tasksOf(id);
        await h.executeUpdate(delegateTaskUpdate, { args: [{ actor: as(fx, 'receiverAcc'), taskId: task.id, to: colleague(fx, 'receiverAcc2'), comment: 'please check the GR' }] });
        expect((await tasksOf(id))[0]).toMatchObject({ assigneeId: fx.users.receiverAcc.id, delegatedToId: fx.users.receiverAcc2.id, status: 'OPEN' });
        // Only a colleague of the same entity.
        expect(await failureOf(h.executeUpdate(transferTaskUpdate, { args: [{ actor: as(fx, 'receiverAcc'), taskId: task.id, to: colleague(fx, 'thirdAcc') }] }))).toEqual({
          type: 'Invalid',
          message: 'tasks can only be handed to a colleague of the same entity',
        });
        const r = await h.executeUpdate(approveTaskUpdate, { args: [{ actor: as(fx, 'receiverAcc2'), taskId: task.id }] });
        expect(r.status).toBe('PENDING');
        expect((await tasksOf(id))[0]).toMatchObject({ delegatedToId: null, status: 'OPEN', comment: `${fx.users.receiverAcc2.username}: approve` });
        // Back with the owner: the delegate cannot act again, the owner confirms.
        expect(await failureOf(h.executeUpdate(approveTaskUpdate, { args: [{ actor: as(fx, 'receiverAcc2'), taskId: task.id }] }))).toMatchObject({ type: 'Forbidden' });
        expect((await h.executeUpdate(confirmUpdate, { args: [{ actor: as(fx, 'receiverAcc'), receipt }] })).status).toBe('CONFIRMED');
        const actions = (await prisma().auditEvent.findMany({ where: { transferId: id }, orderBy: { id: 'asc' } })).map((a) => a.action);
        expect(actions).toEqual(['TRANSFER_ROUTED', 'TASK_DELEGATED', 'TASK_DELEGATE_RETURNED', 'TRANSFER_CONFIRM']);
      },
      {},
      'delegate',
    );
  });

  it('a transferred task belongs to the colleague alone', async () => {
    const fx = await createFixture();
    await run(fx, async (h, id) => {
      const [task] = await tasksOf(id);
      await h.executeUpdate(transferTaskUpdate, { args: [{ actor: as(fx, 'receiverAcc'), taskId: task.id, to: colleague(fx, 'receiverAcc2') }] });
      expect((await tasksOf(id))[0]).toMatchObject({ assigneeId: fx.users.receiverAcc2.id, candidateEntityId: null, candidateRole: null });
      expect(await failureOf(h.executeUpdate(confirmUpdate, { args: [{ actor: as(fx, 'receiverAcc'), receipt }] }))).toMatchObject({ type: 'Forbidden' });
      expect((await h.executeUpdate(confirmUpdate, { args: [{ actor: as(fx, 'receiverAcc2'), receipt }] })).status).toBe('CONFIRMED');
    });
  });

  it('out-of-office reroutes a new task to the delegate for the date range', async () => {
    const fx = await createFixture();
    await policy(fx, 'COUNTERSIGN', [{ users: [fx.users.receiverAcc.username, fx.users.receiverSup.username] }]);
    await prisma().outOfOffice.create({
      data: { userId: fx.users.receiverAcc.id, delegateId: fx.users.receiverAcc2.id, from: new Date(Date.now() - 3600_000), until: new Date(Date.now() + 7 * 86_400_000) },
    });
    await run(fx, async (h, id) => {
      const tasks = await until(async () => ((await tasksOf(id)).length === 2 ? tasksOf(id) : null));
      const rerouted = tasks.find((t) => t.onBehalfOfId === fx.users.receiverAcc.id)!;
      expect(rerouted.assigneeId).toBe(fx.users.receiverAcc2.id);
      await h.executeUpdate(approveTaskUpdate, { args: [{ actor: as(fx, 'receiverAcc2'), taskId: rerouted.id }] });
      const sup = tasks.find((t) => t.assigneeId === fx.users.receiverSup.id)!;
      expect((await h.executeUpdate(approveTaskUpdate, { args: [{ actor: as(fx, 'receiverSup'), taskId: sup.id }] })).status).toBe('CONFIRMED');
    });
  });
});

describe('idempotent activities', () => {
  it('a retried persist step writes its task, audit row and notification once', async () => {
    const fx = await createFixture();
    const t = await insertTransfer(fx);
    const { persist } = createActivities({ prisma: prisma() });
    const taskId = crypto.randomUUID();
    const step = {
      key: `${t.workflowId}:1:created`,
      transferId: t.id,
      workflowId: t.workflowId,
      entityIds: [fx.sender.id, fx.receiver.id],
      transfer: { status: 'PENDING' as const, escalationLevel: 0 },
      createTasks: [{ id: taskId, key: `${t.workflowId}:task:${taskId}`, transferId: t.id, kind: 'CONFIRM' as const, level: 0, escalationLevel: 0, dueAt: Date.now() + 1000, candidateEntityId: fx.receiver.id, candidateRole: 'ACCOUNTANT' as const }],
      audit: { action: 'TRANSFER_ROUTED', actor: null, objectType: 'transfer', objectId: t.id },
      notifications: [{ kind: 'TASK_ASSIGNED', entityId: fx.receiver.id, recipients: [], payload: { taskIds: [taskId] } }],
    };
    await persist(step);
    await persist(step); // Temporal retried it (e.g. the first reply was lost)
    await Promise.all([persist(step), persist(step)]); // even concurrently
    expect(await prisma().task.count({ where: { transferId: t.id } })).toBe(1);
    expect(await prisma().auditEvent.count({ where: { transferId: t.id } })).toBe(1);
    expect(await prisma().notificationEvent.count({ where: { transferId: t.id } })).toBe(1);
  });
});
