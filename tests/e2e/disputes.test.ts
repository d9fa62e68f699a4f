// Disputes, arbitration, comments, period freeze / reopen and payment freeze over HTTP,
// against the running stack (dev server, real worker, real schedule).
import { Client, Connection } from '@temporalio/client';
import { http, login } from '../helpers/http';
import { createFixture, serviceTransferBody, PASSWORD, uid, type Fixture } from '../helpers/fixtures';
import { ensureCycleSchedule, cycleScheduleId } from '../../activities/schedules';
import { sql } from '../helpers/db';
import { until } from '../helpers/wait';

async function setup() {
  const fx = await createFixture();
  const [senderAcc, receiverAcc, thirdAcc, hq, receiverSup] = await Promise.all(
    (['senderAcc', 'receiverAcc', 'thirdAcc', 'hq', 'receiverSup'] as const).map((w) => login(fx.users[w].username, PASSWORD)),
  );
  return { fx, t: { senderAcc, receiverAcc, thirdAcc, hq, receiverSup } };
}

async function create(fx: Fixture, token: string, period = '2026-11') {
  const r = await http('POST', '/api/transfers', {
    token,
    body: serviceTransferBody(fx, { documentDate: `${period}-15`, period }),
  });
  expect(r.status).toBe(201);
  await until(async () => (await sql(`SELECT 1 FROM "Task" WHERE "transferId" = $1`, [r.body.id])).length > 0);
  return r.body as { id: string; workflowId: string };
}

const receipt = (period = '2026-11', over: Record<string, string> = {}) => ({ receiptRef: `GR-${uid()}`, quantity: '10', unitPrice: '800', amount: '8000.00', date: `${period}-16`, ...over });

describe('disputes and arbitration over HTTP', () => {
  it('HQ sees the dispute in its queue and decides it; both sides, the decision and comments show on the transfer', async () => {
    const { fx, t } = await setup();
    const tr = await create(fx, t.senderAcc);
    const r = await http('POST', `/api/transfers/${tr.id}/confirm`, { token: t.receiverAcc, body: receipt('2026-11', { quantity: '8', amount: '6400.00' }) });
    expect(r.body.status).toBe('DISPUTED');
    await until(async () => (await sql(`SELECT 1 FROM "Task" WHERE "transferId" = $1 AND kind = 'ARBITRATE'`, [tr.id])).length > 0);

    const queue = await http('GET', '/api/disputes', { token: t.hq });
    expect(queue.body.items.map((x: { id: string }) => x.id)).toContain(tr.id);
    expect((await http('GET', '/api/disputes', { token: t.receiverAcc })).status).toBe(403);
    const hqInbox = await http('GET', '/api/tasks', { token: t.hq });
    expect(hqInbox.body.items.find((x: { transferId: string }) => x.transferId === tr.id)).toMatchObject({ kind: 'ARBITRATE' });

    // Both sides add evidence while they wait; a third entity cannot.
    expect((await http('POST', `/api/transfers/${tr.id}/comments`, { token: t.receiverAcc, body: { text: '签收单只有 8 件 (delivery note: 8 pcs)' } })).status).toBe(201);
    expect((await http('POST', `/api/transfers/${tr.id}/comments`, { token: t.thirdAcc, body: { text: 'x' } })).status).toBe(404);

    // Only HQ finance arbitrates.
    const forbidden = await http('POST', `/api/transfers/${tr.id}/arbitrate`, { token: t.receiverSup, body: { decision: 'UPHOLD_RECEIVER', rationale: 'ours' } });
    expect(forbidden.status).toBe(403);
    expect((await http('POST', `/api/transfers/${tr.id}/arbitrate`, { token: t.thirdAcc, body: { decision: 'UPHOLD_RECEIVER', rationale: 'x' } })).status).toBe(404);
    const bad = await http('POST', `/api/transfers/${tr.id}/arbitrate`, { token: t.hq, body: { decision: 'ADJUST', rationale: 'half' } });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toContain('figures');

    const decided = await http('POST', `/api/transfers/${tr.id}/arbitrate`, {
      token: t.hq,
      body: { decision: 'ADJUST', rationale: '9 delivered, 1 returned', figures: { quantity: '9', unitPrice: '800', amount: '7200.00', date: '2026-11-16' } },
    });
    expect(decided.status).toBe(200);
    expect(decided.body.status).toBe('RESOLVED');
    const d = decided.body.transfer;
    expect(d.sender).toMatchObject({ quantity: '10', amount: '8000' });
    expect(d.receiver).toMatchObject({ quantity: '8', amount: '6400' });
    expect(d.resolution).toMatchObject({ decision: 'ADJUST', rationale: '9 delivered, 1 returned', quantity: '9', amount: '7200', date: '2026-11-16', decidedBy: fx.users.hq.id });
    expect(d.comments).toEqual([expect.objectContaining({ text: '签收单只有 8 件 (delivery note: 8 pcs)', author: { id: fx.users.receiverAcc.id, name: expect.any(String) } })]);
    expect((await http('POST', `/api/transfers/${tr.id}/arbitrate`, { token: t.hq, body: { decision: 'UPHOLD_SENDER', rationale: 'again' } })).status).toBe(409);
  });

  it('the sender corrects its figures and the dispute ends without HQ', async () => {
    const { fx, t } = await setup();
    const tr = await create(fx, t.senderAcc);
    await http('POST', `/api/transfers/${tr.id}/confirm`, { token: t.receiverAcc, body: receipt('2026-11', { unitPrice: '750', amount: '7500.00' }) });
    await until(async () => (await sql(`SELECT 1 FROM "Task" WHERE "transferId" = $1 AND kind = 'ARBITRATE'`, [tr.id])).length > 0);
    expect((await http('POST', `/api/transfers/${tr.id}/correct`, { token: t.receiverAcc, body: { quantity: '10', unitPrice: '750', amount: '7500.00', date: '2026-11-15', reason: 'x' } })).status).toBe(403);
    const r = await http('POST', `/api/transfers/${tr.id}/correct`, {
      token: t.senderAcc,
      body: { quantity: '10', unitPrice: '750', amount: '7500.00', date: '2026-11-15', reason: 'the framework contract price is 750' },
    });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('CONFIRMED');
    expect(r.body.transfer.sender).toMatchObject({ unitPrice: '750', amount: '7500' });
  });
});

describe('periods over HTTP', () => {
  it('a freeze needs a choice while transfers are open; it blocks confirms and creation with a clear error; reopen needs a reason', async () => {
    const { fx, t } = await setup();
    const period = '2026-08';
    const tr = await create(fx, t.senderAcc, period);
    expect((await http('POST', `/api/periods/${period}/freeze`, { token: t.receiverSup, body: { choice: 'ESCALATE' } })).status).toBe(403);
    const noChoice = await http('POST', `/api/periods/${period}/freeze`, { token: t.hq, body: {} });
    expect(noChoice.status).toBe(409);
    expect(noChoice.body).toMatchObject({ code: 'FREEZE_CHOICE_REQUIRED' });
    expect(noChoice.body.message).toMatch(/^1 transfer\(s\) are still open in 2026-08/);

    const frozen = await http('POST', `/api/periods/${period}/freeze`, { token: t.hq, body: { choice: 'ESCALATE', reason: 'August closed' } });
    expect(frozen.status).toBe(200);
    expect(frozen.body).toMatchObject({ period, status: 'FROZEN', choice: 'ESCALATE', moved: 1 });
    await until(async () => (await sql(`SELECT 1 FROM "Task" WHERE "transferId" = $1 AND "escalationLevel" = 2`, [tr.id])).length > 0);

    const refused = await http('POST', `/api/transfers/${tr.id}/confirm`, { token: t.receiverAcc, body: receipt(period) });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'PERIOD_FROZEN', message: `period ${period} is frozen: no confirmation or change can be booked in it until HQ reopens it` });
    const creating = await http('POST', '/api/transfers', {
      token: t.senderAcc,
      body: { senderEntity: fx.sender.code, receiverEntity: fx.receiver.code, type: 'GOODS', externalRef: `X-${uid()}`, amount: '1.00', currency: 'CNY', documentDate: `${period}-02`, period },
    });
    expect(creating.status).toBe(409);
    expect(creating.body.message).toContain(`period ${period} is frozen`);

    const periods = await http('GET', '/api/periods', { token: t.senderAcc });
    expect(periods.body.find((p: { period: string }) => p.period === period)).toMatchObject({ status: 'FROZEN', openTransfers: 1 });
    expect((await http('POST', `/api/periods/${period}/reopen`, { token: t.hq, body: {} })).status).toBe(400);
    expect((await http('POST', `/api/periods/${period}/reopen`, { token: t.senderAcc, body: { reason: 'x' } })).status).toBe(403);
    const reopened = await http('POST', `/api/periods/${period}/reopen`, { token: t.hq, body: { reason: 'late supplier invoices' } });
    expect(reopened.body).toMatchObject({ status: 'OPEN', reason: 'late supplier invoices' });
    expect((await http('POST', `/api/transfers/${tr.id}/confirm`, { token: t.receiverAcc, body: receipt(period) })).body.status).toBe('CONFIRMED');
    const audit = await sql(`SELECT action, reason FROM "AuditEvent" WHERE "objectType" = 'period' AND "objectId" = $1 AND ("actorId" = $2) ORDER BY id`, [period, fx.users.hq.id]);
    expect(audit).toEqual([
      { action: 'PERIOD_FROZEN', reason: 'August closed' },
      { action: 'PERIOD_REOPENED', reason: 'late supplier invoices' },
    ]);
  });

  it('ROLL_FORWARD moves open transfers to the next period', async () => {
    const { fx, t } = await setup();
    const tr = await create(fx, t.senderAcc, '2026-07');
    const r = await http('POST', '/api/periods/2026-07/freeze', { token: t.hq, body: { choice: 'ROLL_FORWARD' } });
    expect(r.body).toMatchObject({ status: 'FROZEN', toPeriod: '2026-08', moved: 1 });
    await until(async () => (await http('GET', `/api/transfers/${tr.id}`, { token: t.senderAcc })).body.period === '2026-08');
  });
});

describe('cycle close and payment status', () => {
  it('the schedule freezes an entity with an overdue transfer; the ERP sees why; confirming clears it', async () => {
    const { fx, t } = await setup();
    const tr = await create(fx, t.senderAcc);
    await sql(`UPDATE "Transfer" SET "dueAt" = now() - interval '1 hour' WHERE id = $1`, [tr.id]);
    const status = async () => http('GET', `/api/entities/${fx.receiver.code}/payment-status`, { token: t.receiverAcc });
    expect((await status()).body).toMatchObject({ paymentsFrozen: false, mayRaisePaymentRequests: true, reasons: [] });

    // The group's cycle-close schedule, firing every 2 s instead of Fridays at 18:00.
    const connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    const client = new Client({ connection });
    const group = (await sql(`SELECT id, code, "cycleCloseCron", timezone FROM "Group" WHERE id = $1`, [fx.groupId]))[0];
    try {
      await ensureCycleSchedule(client, group, process.env.TEST_TASK_QUEUE!, { intervals: [{ every: '2 seconds' }] });
      const frozen = await until(async () => {
        const s = await status();
        return s.body.paymentsFrozen ? s.body : null;
      });
      expect(frozen).toMatchObject({ mayRaisePaymentRequests: false, reasons: [{ transferId: tr.id, amount: '8000', currency: 'CNY', counterparty: fx.sender.code }] });
    } finally {
      await client.schedule.getHandle(cycleScheduleId(group.code)).delete();
      await connection.close();
    }
    expect((await http('GET', `/api/entities/${fx.receiver.code}/payment-status`, { token: t.thirdAcc })).status).toBe(404);
    expect((await http('GET', `/api/entities/${fx.receiver.code}/payment-status`, { token: t.hq })).body.paymentsFrozen).toBe(true);

    await http('POST', `/api/transfers/${tr.id}/confirm`, { token: t.receiverAcc, body: receipt() });
    expect((await status()).body).toMatchObject({ paymentsFrozen: false, reasons: [] });
    const actions = await sql(`SELECT action FROM "AuditEvent" WHERE "objectId" = $1 AND action LIKE 'PAYMENTS_%' ORDER BY id`, [fx.receiver.id]);
    expect(actions.map((a: { action: string }) => a.action)).toEqual(['PAYMENTS_FROZEN', 'PAYMENTS_UNFROZEN']);
  });
});
