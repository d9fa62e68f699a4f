// Disputes, period freezes and cycle close on the time-skipping test server, with the
// real activities on PostgreSQL.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { transferWorkflow } from '../../workflows/transfer';
import { periodFreezeWorkflow } from '../../workflows/period';
import { arbitrateUpdate, confirmUpdate, correctUpdate, disputeUpdate, periodFrozenSignal, stateQuery, withdrawUpdate } from '../../workflows/messages';
import type { Actor } from '../../workflows/types';
import { createFixture, insertTransfer, testPrisma, uid, type Fixture, type TransferFields } from '../helpers/fixtures';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { recordHistory, testWorker, timeSkipping, until } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkipping();
});
afterAll(async () => {
  await env?.teardown();
});

const prisma = () => testPrisma();
const receiver = (fx: Fixture): Actor => ({ userId: fx.users.receiverAcc.id, name: 'racc', groupRole: null, memberships: [{ entityId: fx.receiver.id, role: 'ACCOUNTANT' }] });
const senderAcc = (fx: Fixture): Actor => ({ userId: fx.users.senderAcc.id, name: 'sacc', groupRole: null, memberships: [{ entityId: fx.sender.id, role: 'ACCOUNTANT' }] });
const hq = (fx: Fixture): Actor => ({ userId: fx.users.hq.id, name: 'hq', groupRole: 'HQ_FINANCE', memberships: [{ entityId: fx.hq.id, role: 'SUPERVISOR' }] });
const shortReceipt = { receiptRef: 'GR-2', quantity: '9', unitPrice: '12.5', amount: '112.50', date: '2026-11-21' };

async function failureOf(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    const cause = (err as WorkflowUpdateFailedError).cause as ApplicationFailure;
    return { type: cause.type, message: cause.message };
  }
  throw new Error('expected the update to be rejected');
}

async function startTransfer(fx: Fixture, taskQueue: string, fields: TransferFields = {}) {
  const t = await insertTransfer(fx, fields);
  const h = await env.client.workflow.start(transferWorkflow, { taskQueue, workflowId: t.workflowId, args: [{ transferId: t.id }] });
  await until(() => prisma().task.findFirst({ where: { transferId: t.id } }));
  return { t, h };
}

async function disputed(h: WorkflowHandle<typeof transferWorkflow>, fx: Fixture) {
  const r = await h.executeUpdate(confirmUpdate, { args: [{ actor: receiver(fx), receipt: shortReceipt }] });
  expect(r.status).toBe('DISPUTED');
  await until(async () => (await h.query(stateQuery)).arbitrationOpen);
}

describe('HQ arbitration', () => {
  it('opens an HQ task with a 72 h deadline; a reminder 24 h before; overdue notice at the deadline; ADJUST resolves', async () => {
    const fx = await createFixture();
    const { worker, taskQueue } = await testWorker(env);
    await worker.runUntil(async () => {
      const { t, h } = await startTransfer(fx, taskQueue);
      await disputed(h, fx);
      const task = await until(() => prisma().task.findFirst({ where: { transferId: t.id, kind: 'ARBITRATE' } }));
      expect(task).toMatchObject({ status: 'OPEN', candidateGroupRole: 'HQ_FINANCE' });
      const opened = (await prisma().auditEvent.findFirstOrThrow({ where: { transferId: t.id, action: 'ARBITRATION_OPENED' } })).at;
      expect(task.dueAt.getTime() - opened.getTime()).toBeGreaterThan(71.9 * 3600_000);
      const kinds = async () => (await prisma().notificationEvent.findMany({ where: { transferId: t.id }, orderBy: { createdAt: 'asc' } })).map((n) => n.kind);
      expect(await kinds()).toEqual(expect.arrayContaining(['ARBITRATION_REQUIRED', 'DISPUTE_OPENED']));

      await env.sleep('49 hours');
      await until(async () => (await kinds()).includes('ARBITRATION_REMINDER'));
      await env.sleep('24 hours');
      await until(async () => (await kinds()).includes('ARBITRATION_OVERDUE'));

      // Only HQ finance arbitrates; a rationale is required; ADJUST needs consistent figures.
      expect(await failureOf(h.executeUpdate(arbitrateUpdate, { args: [{ actor: receiver(fx), decision: 'UPHOLD_RECEIVER', rationale: 'mine' }] }))).toEqual({ type: 'Forbidden', message: 'only HQ finance arbitrates disputes' });
      expect(await failureOf(h.executeUpdate(arbitrateUpdate, { args: [{ actor: hq(fx), decision: 'UPHOLD_SENDER', rationale: ' ' }] }))).toMatchObject({ type: 'Invalid' });
      expect(
        await failureOf(h.executeUpdate(arbitrateUpdate, { args: [{ actor: hq(fx), decision: 'ADJUST', rationale: 'x', figures: { quantity: '9.5', unitPrice: '12.5', amount: '100.00', date: '2026-11-20' } }] })),
      ).toEqual({ type: 'Invalid', message: 'figures.amount: must equal quantity × unit price (to the cent)' });

      const r = await h.executeUpdate(arbitrateUpdate, {
        args: [{ actor: hq(fx), decision: 'ADJUST', rationale: '9.5 units arrived per the carrier note', figures: { quantity: '9.5', unitPrice: '12.5', amount: '118.75', date: '2026-11-20' } }],
      });
      expect(r.status).toBe('RESOLVED');
      expect(await h.result()).toBe('RESOLVED');
      const row = await prisma().transfer.findUniqueOrThrow({ where: { id: t.id } });
      expect(row).toMatchObject({ status: 'RESOLVED', resolution: 'ADJUST', resolutionNote: '9.5 units arrived per the carrier note', resolvedById: fx.users.hq.id });
      expect([row.amount.toString(), row.receiptAmount?.toString(), row.resolvedAmount?.toString(), row.resolvedQuantity?.toString()]).toEqual(['125', '112.5', '118.75', '9.5']);
      const told = await prisma().notificationEvent.findMany({ where: { transferId: t.id, kind: 'TRANSFER_RESOLVED' } });
      expect(told.map((n) => n.entityId).sort()).toEqual([fx.sender.id, fx.receiver.id].sort());
      expect((await prisma().task.findUniqueOrThrow({ where: { id: task.id } })).outcome).toBe('ADJUST');
      await recordHistory(h, 'arbitration-adjust');
    });
  });

  it.each([
    ['UPHOLD_SENDER', '125'],
    ['UPHOLD_RECEIVER', '112.5'],
  ] as const)('%s makes the binding figures those of that side', async (decision, amount) => {
    const fx = await createFixture();
    const { worker, taskQueue } = await testWorker(env);
    await worker.runUntil(async () => {
      const { t, h } = await startTransfer(fx, taskQueue);
      await disputed(h, fx);
      await h.executeUpdate(arbitrateUpdate, { args: [{ actor: hq(fx), decision, rationale: 'per contract' }] });
      const row = await prisma().transfer.findUniqueOrThrow({ where: { id: t.id } });
      expect(row.resolution).toBe(decision);
      expect(row.resolvedAmount?.toString()).toBe(amount);
    });
  });

  it('UPHOLD_RECEIVER needs the receiver’s figures: a bare dispute must be ADJUSTed', async () => {
    const fx = await createFixture();
    const { worker, taskQueue } = await testWorker(env);
    await worker.runUntil(async () => {
      const { h } = await startTransfer(fx, taskQueue);
      await h.executeUpdate(disputeUpdate, { args: [{ actor: receiver(fx), reason: 'NOT_RECEIVED', text: 'nothing arrived' }] });
      await until(async () => (await h.query(stateQuery)).arbitrationOpen);
      expect(await failureOf(h.executeUpdate(arbitrateUpdate, { args: [{ actor: hq(fx), decision: 'UPHOLD_RECEIVER', rationale: 'x' }] }))).toEqual({
        type: 'Invalid',
        message: 'decision: the receiver gave no figures to uphold; use ADJUST',
      });
    });
  });

  it('the sender corrects its figures: a match ends the dispute without HQ', async () => {
    const fx = await createFixture();
    const { worker, taskQueue } = await testWorker(env);
    await worker.runUntil(async () => {
      const { t, h } = await startTransfer(fx, taskQueue);
      await disputed(h, fx);
      expect(await failureOf(h.executeUpdate(correctUpdate, { args: [{ actor: receiver(fx), figures: shortReceipt, reason: 'x' }] }))).toMatchObject({ type: 'Forbidden' });
      // A correction that still differs keeps it disputed, with the new differences.
      const still = await h.executeUpdate(correctUpdate, { args: [{ actor: senderAcc(fx), figures: { quantity: '9', unitPrice: '12.4', amount: '111.60', date: '2026-11-20' }, reason: 'price typo' }] });
      expect(still.status).toBe('DISPUTED');
      expect(still.differences.map((d) => d.field)).toEqual(['unitPrice', 'amount']);
      const r = await h.executeUpdate(correctUpdate, { args: [{ actor: senderAcc(fx), figures: { quantity: '9', unitPrice: '12.5', amount: '112.50', date: '2026-11-20' }, reason: 'one unit was never shipped' }] });
      expect(r).toMatchObject({ status: 'CONFIRMED', differences: [] });
      expect(await h.result()).toBe('CONFIRMED');
      const row = await prisma().transfer.findUniqueOrThrow({ where: { id: t.id } });
      expect([row.status, row.quantity?.toString(), row.amount.toString()]).toEqual(['CONFIRMED', '9', '112.5']);
      expect((await prisma().task.findFirstOrThrow({ where: { transferId: t.id, kind: 'ARBITRATE' } })).status).toBe('WITHDRAWN');
      const audit = await prisma().auditEvent.findMany({ where: { transferId: t.id, action: 'TRANSFER_CORRECTED' } });
      expect(audit).toHaveLength(2);
      expect(audit[1]).toMatchObject({ reason: 'one unit was never shipped', actorId: fx.users.senderAcc.id });
      await recordHistory(h, 'dispute-corrected');
    });
  });
});

describe('period freeze', () => {
  it('a correction or a withdrawal in a period frozen meanwhile is refused and changes nothing; after reopening it goes through', async () => {
    const fx = await createFixture();
    const { worker, taskQueue } = await testWorker(env);
    const freeze = (status: 'FROZEN' | 'OPEN') =>
      prisma().period.upsert({ where: { groupId_period: { groupId: fx.groupId, period: '2026-11' } }, create: { groupId: fx.groupId, period: '2026-11', status }, update: { status } });
    await worker.runUntil(async () => {
      const a = await startTransfer(fx, taskQueue);
      await disputed(a.h, fx);
      const b = await startTransfer(fx, taskQueue);
      const stateA = await a.h.query(stateQuery);
      const stateB = await b.h.query(stateQuery);
      const rows = async (id: string) => ({
        transfer: await prisma().transfer.findUniqueOrThrow({ where: { id } }),
        tasks: await prisma().task.findMany({ where: { transferId: id }, orderBy: { id: 'asc' } }),
        audit: await prisma().auditEvent.count({ where: { transferId: id } }),
        notices: await prisma().notificationEvent.count({ where: { transferId: id } }),
      });
      const rowsA = await rows(a.t.id);
      const rowsB = await rows(b.t.id);
      await freeze('FROZEN');
      const frozen = { type: 'Conflict', message: 'period 2026-11 is frozen: no confirmation or change can be booked in it until HQ reopens it' };
      const matching = { quantity: '9', unitPrice: '12.5', amount: '112.50', date: '2026-11-20' };
      expect(await failureOf(a.h.executeUpdate(correctUpdate, { args: [{ actor: senderAcc(fx), figures: matching, reason: 'one unit was never shipped' }] }))).toEqual(frozen);
      expect(await failureOf(b.h.executeUpdate(withdrawUpdate, { args: [{ actor: senderAcc(fx), reason: 'booked twice' }] }))).toEqual(frozen);
      expect(await a.h.query(stateQuery)).toEqual(stateA);
      expect(await b.h.query(stateQuery)).toEqual(stateB);
      expect(await rows(a.t.id)).toEqual(rowsA);
      expect(await rows(b.t.id)).toEqual(rowsB);

      await freeze('OPEN');
      expect((await a.h.executeUpdate(correctUpdate, { args: [{ actor: senderAcc(fx), figures: matching, reason: 'one unit was never shipped' }] })).status).toBe('CONFIRMED');
      expect(await a.h.result()).toBe('CONFIRMED');
      expect((await b.h.executeUpdate(withdrawUpdate, { args: [{ actor: senderAcc(fx), reason: 'booked twice' }] })).status).toBe('WITHDRAWN');
      expect(await b.h.result()).toBe('WITHDRAWN');
      expect((await prisma().transfer.findUniqueOrThrow({ where: { id: a.t.id } })).status).toBe('CONFIRMED');
      expect(await prisma().task.count({ where: { transferId: b.t.id, status: 'OPEN' } })).toBe(0);
      await recordHistory(a.h, 'correct-refused-frozen');
      await recordHistory(b.h, 'withdraw-refused-frozen');
    });
  });

  it('an action refused while the deadline’s escalation is being written leaves the workflow running and the transfer pending', async () => {
    // A 3 s deadline, kept in real time: other tests' waiting workflows hold the test server's time skipping.
    const fx = await createFixture(testPrisma(), { confirmWithin: 'PT3S', remindBefore: 'PT1S', escalationWithin: 'PT1H' });
    const { worker, taskQueue } = await testWorker(env);
    const periodKey = { groupId_period: { groupId: fx.groupId, period: '2026-11' } };
    await prisma().period.upsert({ where: periodKey, create: { groupId: fx.groupId, period: '2026-11', status: 'FROZEN' }, update: { status: 'FROZEN' } });
    // Locks are held on connections of their own (the activities share testPrisma's pool).
    const locker = createPrisma(process.env.TEST_DATABASE_URL!, { max: 3 });
    /** Holds row locks in a transaction of its own until released. */
    const hold = (lock: (tx: Parameters<Parameters<PrismaClient['$transaction']>[0]>[0]) => Promise<unknown>) => {
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const done = locker.$transaction(async (tx) => {
        await lock(tx);
        locked();
        await released;
      }, { timeout: 60_000 });
      return { isLocked, release: async () => { release(); await done; } };
    };
    /** Is a statement like `pattern` waiting for a lock? */
    const waitingOn = async (pattern: string) =>
      (await locker.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() AND query LIKE ${pattern}`)[0].n > 0;
    await worker.runUntil(async () => {
      const { t, h } = await startTransfer(fx, taskQueue);
      // 1. The deadline's escalation is written while the transfer's row is locked: it waits.
      const transferLock = hold((tx) => tx.$queryRaw`SELECT id FROM "Transfer" WHERE id = ${t.id}::uuid FOR UPDATE`);
      await transferLock.isLocked;
      await until(() => waitingOn('UPDATE "public"."Transfer"%'));
      // 2. The sender withdraws meanwhile; its step waits for the (frozen) period's row.
      const periodLock = hold((tx) => tx.$queryRaw`SELECT status FROM "Period" WHERE "groupId" = ${fx.groupId}::uuid AND period = '2026-11' FOR UPDATE`);
      await periodLock.isLocked;
      const withdrawal = failureOf(h.executeUpdate(withdrawUpdate, { args: [{ actor: senderAcc(fx), reason: 'booked twice' }] }));
      await until(() => waitingOn('%FOR SHARE OF p%'));
      // 3. The escalation lands while the withdrawal is still in flight; then the withdrawal is refused.
      await transferLock.release();
      await until(() => prisma().auditEvent.findFirst({ where: { transferId: t.id, action: 'TRANSFER_ESCALATED' } }));
      await new Promise((r) => setTimeout(r, 500)); // let the workflow take its next step
      await periodLock.release();
      expect(await withdrawal).toEqual({ type: 'Conflict', message: 'period 2026-11 is frozen: no confirmation or change can be booked in it until HQ reopens it' });
      // The transfer is still pending, its workflow still running, the supervisor's task open.
      expect((await h.describe()).status.name).toBe('RUNNING');
      const state = await h.query(stateQuery);
      expect(state).toMatchObject({ status: 'PENDING', escalationLevel: 1 });
      expect(state.tasks.filter((x) => x.status === 'OPEN').map((x) => x.escalationLevel).sort()).toEqual([0, 1]);
      expect((await prisma().transfer.findUniqueOrThrow({ where: { id: t.id } })).status).toBe('PENDING');
      expect(await prisma().task.count({ where: { transferId: t.id, status: 'OPEN', escalationLevel: 1 } })).toBe(1);
      await prisma().period.update({ where: periodKey, data: { status: 'OPEN' } });
      expect((await h.executeUpdate(withdrawUpdate, { args: [{ actor: senderAcc(fx), reason: 'booked twice' }] })).status).toBe('WITHDRAWN');
      expect(await h.result()).toBe('WITHDRAWN');
      await recordHistory(h, 'withdraw-refused-during-escalation');
    }).finally(() => locker.$disconnect());
  });

  it('a freeze (ESCALATE) that arrives while a confirmation is being written still escalates when the confirmation is refused', async () => {
    const fx = await createFixture();
    const { worker, taskQueue } = await testWorker(env);
    const locker = createPrisma(process.env.TEST_DATABASE_URL!, { max: 2 });
    let release!: () => void;
    await worker.runUntil(async () => {
      const { t, h } = await startTransfer(fx, taskQueue);
      await prisma().period.upsert({
        where: { groupId_period: { groupId: fx.groupId, period: '2026-11' } },
        create: { groupId: fx.groupId, period: '2026-11', status: 'FROZEN', choice: 'ESCALATE' },
        update: { status: 'FROZEN', choice: 'ESCALATE' },
      });
      // The confirmation's step waits on the frozen period's row, held by the test.
      const released = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const held = locker.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT status FROM "Period" WHERE "groupId" = ${fx.groupId}::uuid AND period = '2026-11' FOR UPDATE`;
        locked();
        await released;
      }, { timeout: 60_000 });
      await isLocked;
      const confirmation = failureOf(h.executeUpdate(confirmUpdate, { args: [{ actor: receiver(fx), receipt: { ...shortReceipt, quantity: '10', amount: '125.00' } }] }));
      await until(async () => (await locker.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FOR SHARE OF p%'`)[0].n > 0);
      // What the freeze workflow sends to every open transfer of the period.
      await h.signal(periodFrozenSignal, { period: '2026-11', choice: 'ESCALATE', toPeriod: null, reason: 'month-end close' });
      await new Promise((r) => setTimeout(r, 500));
      release();
      await held;
      expect(await confirmation).toEqual({ type: 'Conflict', message: 'period 2026-11 is frozen: no confirmation or change can be booked in it until HQ reopens it' });
      const task = await until(() => prisma().task.findFirst({ where: { transferId: t.id, escalationLevel: 2, status: 'OPEN' } }));
      expect(task.candidateGroupRole).toBe('HQ_FINANCE');
      expect(await h.query(stateQuery)).toMatchObject({ status: 'PENDING', escalationLevel: 2 });
      expect((await h.describe()).status.name).toBe('RUNNING');
      await recordHistory(h, 'freeze-during-refused-confirmation');
    }).finally(async () => {
      release?.();
      await locker.$disconnect();
    });
  });

  it('ESCALATE: open transfers become HQ tasks now; confirms in the frozen period are refused (HQ excepted)', async () => {
    const fx = await createFixture();
    const { worker, taskQueue } = await testWorker(env);
    await worker.runUntil(async () => {
      const a = await startTransfer(fx, taskQueue);
      const b = await startTransfer(fx, taskQueue);
      const other = await startTransfer(fx, taskQueue, { period: '2026-12', documentDate: '2026-12-01' });
      const r = await env.client.workflow.execute(periodFreezeWorkflow, {
        taskQueue,
        workflowId: `period-freeze:${fx.tag}:2026-11:1`,
        args: [{ groupId: fx.groupId, period: '2026-11', choice: 'ESCALATE', reason: 'month-end close', actor: hq(fx) }],
      });
      expect(r).toEqual({ period: '2026-11', choice: 'ESCALATE', toPeriod: null, openTransfers: 2 });
      expect((await prisma().period.findUniqueOrThrow({ where: { groupId_period: { groupId: fx.groupId, period: '2026-11' } } })).status).toBe('FROZEN');
      for (const x of [a, b]) {
        const task = await until(() => prisma().task.findFirst({ where: { transferId: x.t.id, escalationLevel: 2 } }));
        expect(task.candidateGroupRole).toBe('HQ_FINANCE');
      }
      expect(await prisma().task.count({ where: { transferId: other.t.id, escalationLevel: 2 } })).toBe(0);
      const before = await a.h.query(stateQuery);
      const refused = await failureOf(a.h.executeUpdate(confirmUpdate, { args: [{ actor: receiver(fx), receipt: { ...shortReceipt, quantity: '10', amount: '125.00' } }] }));
      expect(refused).toEqual({ type: 'Conflict', message: 'period 2026-11 is frozen: no confirmation or change can be booked in it until HQ reopens it' });
      // Refused inside the decision's own transaction: nothing written, the workflow's state as before.
      expect(await a.h.query(stateQuery)).toEqual(before);
      expect(await prisma().auditEvent.count({ where: { transferId: a.t.id, action: 'TRANSFER_CONFIRM' } })).toBe(0);
      expect(await prisma().task.count({ where: { transferId: a.t.id, status: 'OPEN' } })).toBe(2);
      // HQ finance decides the escalated item even in the frozen period.
      expect((await a.h.executeUpdate(confirmUpdate, { args: [{ actor: hq(fx), receipt: { ...shortReceipt, quantity: '10', amount: '125.00' } }] })).status).toBe('CONFIRMED');
      // The other period is untouched.
      expect((await other.h.executeUpdate(confirmUpdate, { args: [{ actor: receiver(fx), receipt: { ...shortReceipt, quantity: '10', amount: '125.00', date: '2026-12-02' } }] })).status).toBe('CONFIRMED');
      await recordHistory(a.h, 'freeze-escalate');
      await recordHistory(a.h, 'freeze-escalate-guard-in-persist');
    });
  });

  it('ROLL_FORWARD: open transfers move to the next open period, recorded in the audit trail', async () => {
    const fx = await createFixture();
    await prisma().period.create({ data: { groupId: fx.groupId, period: '2026-12', status: 'FROZEN' } });
    const { worker, taskQueue } = await testWorker(env);
    await worker.runUntil(async () => {
      const a = await startTransfer(fx, taskQueue);
      const r = await env.client.workflow.execute(periodFreezeWorkflow, {
        taskQueue,
        workflowId: `period-freeze:${fx.tag}:2026-11:1`,
        args: [{ groupId: fx.groupId, period: '2026-11', choice: 'ROLL_FORWARD', reason: null, actor: hq(fx) }],
      });
      expect(r.toPeriod).toBe('2027-01'); // 2026-12 is frozen too
      await until(async () => (await prisma().transfer.findUniqueOrThrow({ where: { id: a.t.id } })).period === '2027-01');
      const audit = await prisma().auditEvent.findFirstOrThrow({ where: { transferId: a.t.id, action: 'TRANSFER_ROLLED_FORWARD' } });
      expect(audit).toMatchObject({ before: { period: '2026-11' }, after: { period: '2027-01' } });
      expect((await a.h.query(stateQuery)).period).toBe('2027-01');
      // Re-sending the same freeze (a restarted freeze workflow) changes nothing.
      await a.h.signal('periodFrozen', { period: '2026-11', choice: 'ROLL_FORWARD', toPeriod: '2027-01', reason: null });
      await a.h.query(stateQuery);
      expect(await prisma().auditEvent.count({ where: { transferId: a.t.id, action: 'TRANSFER_ROLLED_FORWARD' } })).toBe(1);
      // Confirmation is matched against the new period; the frozen one no longer blocks it.
      const res = await a.h.executeUpdate(confirmUpdate, { args: [{ actor: receiver(fx), receipt: { receiptRef: 'GR', quantity: '10', unitPrice: '12.5', amount: '125.00', date: '2027-01-03' } }] });
      expect(res.differences.map((d) => d.field)).toEqual(['date']);
    });
  });

  it('reopened: confirmations are accepted again', async () => {
    const fx = await createFixture();
    const { worker, taskQueue } = await testWorker(env);
    await worker.runUntil(async () => {
      const a = await startTransfer(fx, taskQueue);
      await prisma().period.create({ data: { groupId: fx.groupId, period: '2026-11', status: 'FROZEN' } });
      const receipt = { ...shortReceipt, quantity: '10', amount: '125.00' };
      expect((await failureOf(a.h.executeUpdate(confirmUpdate, { args: [{ actor: receiver(fx), receipt }] }))).type).toBe('Conflict');
      await prisma().period.update({ where: { groupId_period: { groupId: fx.groupId, period: '2026-11' } }, data: { status: 'OPEN', reason: 'late invoices' } });
      expect((await a.h.executeUpdate(confirmUpdate, { args: [{ actor: receiver(fx), receipt }] })).status).toBe('CONFIRMED');
    });
  });
});
