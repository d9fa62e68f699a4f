// GET /api/tasks counts open tasks exactly up to 1,000 and says when there are more, so an
// inbox of tens of thousands of candidate tasks costs a page, not a full count.
import crypto from 'node:crypto';
import { http, login } from '../helpers/http';
import { createFixture, PASSWORD, testPrisma, uid, type Fixture } from '../helpers/fixtures';
import { workflowIdFor } from '../../api/transfers-service';

async function openTasks(fx: Fixture, n: number) {
  const prisma = testPrisma();
  const transfers = Array.from({ length: n }, () => {
    const externalRef = `CNT-${uid()}`;
    return {
      id: crypto.randomUUID(),
      workflowId: workflowIdFor(fx.sender.code, externalRef),
      senderEntityId: fx.sender.id,
      receiverEntityId: fx.receiver.id,
      type: 'GOODS' as const,
      externalRef,
      amount: '10.00',
      currency: 'CNY',
      documentDate: new Date('2026-11-20T00:00:00Z'),
      period: '2026-11',
      createdById: fx.users.senderAcc.id,
      dueAt: new Date(Date.now() + 48 * 3600_000),
    };
  });
  await prisma.transfer.createMany({ data: transfers });
  await prisma.task.createMany({
    data: transfers.map((t, i) => ({
      key: `count-test:${t.id}`,
      transferId: t.id,
      kind: 'CONFIRM' as const,
      candidateEntityId: fx.receiver.id,
      candidateRole: 'ACCOUNTANT' as const,
      dueAt: new Date(Date.now() + (i + 1) * 60_000),
    })),
  });
}

describe('GET /api/tasks total', () => {
  it('is exact below the cap', async () => {
    const fx = await createFixture();
    await openTasks(fx, 3);
    const token = await login(fx.users.receiverAcc.username, PASSWORD);
    const r = await http('GET', '/api/tasks?pageSize=2', { token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ total: 3, totalCapped: false, page: 1, pageSize: 2 });
    expect(r.body.items).toHaveLength(2);
  });

  it('stops at 1,000 and says so; the pages go on', async () => {
    const fx = await createFixture();
    await openTasks(fx, 1001);
    const token = await login(fx.users.receiverAcc.username, PASSWORD);
    const r = await http('GET', '/api/tasks?pageSize=100', { token });
    expect(r.body).toMatchObject({ total: 1000, totalCapped: true });
    // The 1,001st task (the latest due) is on page 11.
    const last = await http('GET', '/api/tasks?pageSize=100&page=11', { token });
    expect(last.body.items).toHaveLength(1);
    expect(last.body).toMatchObject({ total: 1000, totalCapped: true, page: 11 });
    // Exactly 1,000: exact, not capped.
    await testPrisma().task.updateMany({ where: { transferId: last.body.items[0].transferId }, data: { status: 'WITHDRAWN' } });
    expect((await http('GET', '/api/tasks?pageSize=1', { token })).body).toMatchObject({ total: 1000, totalCapped: false });
  });
});
