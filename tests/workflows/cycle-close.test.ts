// Cycle close (run by a Temporal Schedule in production) and the payment freeze it sets,
// on the time-skipping test server with the real activities.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { transferWorkflow } from '../../workflows/transfer';
import { cycleCloseWorkflow } from '../../workflows/period';
import { confirmUpdate } from '../../workflows/messages';
import type { Actor } from '../../workflows/types';
import { createFixture, insertTransfer, testPrisma, uid, type Fixture } from '../helpers/fixtures';
import { testWorker, timeSkipping, until } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkipping();
});
afterAll(async () => {
  await env?.teardown();
});

const prisma = () => testPrisma();
const receiver = (fx: Fixture): Actor => ({ userId: fx.users.receiverAcc.id, name: 'racc', groupRole: null, memberships: [{ entityId: fx.receiver.id, role: 'ACCOUNTANT' }] });
const shortReceipt = { receiptRef: 'GR-2', quantity: '9', unitPrice: '12.5', amount: '112.50', date: '2026-11-21' };

describe('cycle close and payment freeze', () => {
  it('freezes the payments of an entity with overdue unconfirmed transfers, and clears when the last one is confirmed', async () => {
    const fx = await createFixture();
    const { worker, taskQueue } = await testWorker(env);
    const startTransfer = async (f: Fixture, q: string) => {
      const t = await insertTransfer(f);
      const h = await env.client.workflow.start(transferWorkflow, { taskQueue: q, workflowId: t.workflowId, args: [{ transferId: t.id }] });
      await until(() => prisma().task.findFirst({ where: { transferId: t.id } }));
      return { t, h };
    };
    await worker.runUntil(async () => {
      const a = await startTransfer(fx, taskQueue);
      const b = await startTransfer(fx, taskQueue);
      const done = await startTransfer(fx, taskQueue);
      await done.h.executeUpdate(confirmUpdate, { args: [{ actor: receiver(fx), receipt: { ...shortReceipt, quantity: '10', amount: '125.00' } }] });
      await env.sleep('49 hours'); // a and b are past their 48 h deadline (escalated); `done` was confirmed in time
      await until(() => prisma().task.findFirst({ where: { transferId: b.t.id, escalationLevel: 1 } }));

      const r = await env.client.workflow.execute(cycleCloseWorkflow, { taskQueue, workflowId: `cycle-close:${fx.tag}:${uid()}`, args: [{ groupId: fx.groupId }] });
      expect(r.frozen).toEqual([{ entityId: fx.receiver.id, code: fx.receiver.code, transfers: 2 }]);
      const freeze = await prisma().paymentFreeze.findUniqueOrThrow({ where: { entityId: fx.receiver.id }, include: { items: true } });
      expect(freeze.items.map((i) => i.transferId).sort()).toEqual([a.t.id, b.t.id].sort());
      const told = await prisma().notificationEvent.findMany({ where: { kind: 'PAYMENTS_FROZEN', entityId: { in: [fx.receiver.id, fx.hq.id] }, payload: { path: ['entityId'], equals: fx.receiver.id } } });
      expect(told).toHaveLength(2);

      const receipt = { ...shortReceipt, quantity: '10', amount: '125.00' };
      await a.h.executeUpdate(confirmUpdate, { args: [{ actor: receiver(fx), receipt }] });
      expect(await prisma().paymentFreeze.findUnique({ where: { entityId: fx.receiver.id } })).not.toBeNull();
      await b.h.executeUpdate(confirmUpdate, { args: [{ actor: receiver(fx), receipt }] });
      expect(await prisma().paymentFreeze.findUnique({ where: { entityId: fx.receiver.id } })).toBeNull();
      const audit = await prisma().auditEvent.findMany({ where: { objectId: fx.receiver.id, action: { in: ['PAYMENTS_FROZEN', 'PAYMENTS_UNFROZEN'] } }, orderBy: { id: 'asc' } });
      expect(audit.map((x) => x.action)).toEqual(['PAYMENTS_FROZEN', 'PAYMENTS_UNFROZEN']);
    });
  });
});
