// Broken object level authorization matrix: for every endpoint and every outside role,
// requests about another entity's (or another group's) objects are refused with 404, list
// endpoints never include them, and functions reserved to HQ answer 403 to others.
import { http, login } from '../helpers/http';
import { createFixture, PASSWORD, testPrisma, uid, type Fixture } from '../helpers/fixtures';
import { sql } from '../helpers/db';
import { until } from '../helpers/wait';

function transferBody(fx: Fixture, over: Record<string, unknown> = {}) {
  return {
    senderEntity: fx.sender.code,
    receiverEntity: fx.receiver.code,
    type: 'GOODS',
    externalRef: `B-${uid()}`,
    quantity: '2',
    unit: 'PCS',
    unitPrice: '50',
    amount: '100.00',
    currency: 'CNY',
    documentDate: '2026-11-10',
    period: '2026-11',
    ...over,
  };
}

describe('object-level authorization matrix', () => {
  jest.setTimeout(120_000);

  let fx: Fixture;
  let other: Fixture;
  let tokens: Record<string, string>;
  let pending: { id: string };
  let disputed: { id: string };
  let taskId: string;

  beforeAll(async () => {
    fx = await createFixture();
    other = await createFixture();
    const [senderAcc, receiverAcc, thirdAcc, otherHq, otherAcc, hq] = await Promise.all([
      login(fx.users.senderAcc.username, PASSWORD),
      login(fx.users.receiverAcc.username, PASSWORD),
      login(fx.users.thirdAcc.username, PASSWORD),
      login(other.users.hq.username, PASSWORD),
      login(other.users.receiverAcc.username, PASSWORD),
      login(fx.users.hq.username, PASSWORD),
    ]);
    tokens = { senderAcc, receiverAcc, thirdAcc, otherHq, otherAcc, hq };
    const a = await http('POST', '/api/transfers', { token: senderAcc, body: transferBody(fx) });
    const b = await http('POST', '/api/transfers', { token: senderAcc, body: transferBody(fx) });
    pending = a.body;
    disputed = b.body;
    taskId = (await until(async () => (await sql(`SELECT id FROM "Task" WHERE "transferId" = $1`, [pending.id]))[0]))!.id;
    await until(async () => (await sql(`SELECT 1 FROM "Task" WHERE "transferId" = $1`, [disputed.id])).length > 0);
    await http('POST', `/api/transfers/${disputed.id}/dispute`, { token: receiverAcc, body: { reason: 'PRICE', text: 'price is 45' } });
    await until(async () => (await sql(`SELECT 1 FROM "Task" WHERE "transferId" = $1 AND kind = 'ARBITRATE'`, [disputed.id])).length > 0);
    await http('POST', `/api/transfers/${disputed.id}/comments`, { token: receiverAcc, body: { text: 'invoice attached' } });
  });

  const outsiders = ['thirdAcc', 'otherHq', 'otherAcc'] as const;

  it.each(outsiders)('%s gets 404 for every object of the pair', async (who) => {
    const token = tokens[who];
    const receipt = { receiptRef: 'R', quantity: '2', unitPrice: '50', amount: '100.00', date: '2026-11-11' };
    const calls: Array<[string, string, unknown?]> = [
      ['GET', `/api/transfers/${pending.id}`],
      ['POST', `/api/transfers/${pending.id}/confirm`, receipt],
      ['POST', `/api/transfers/${pending.id}/reject`, { reason: 'x' }],
      ['POST', `/api/transfers/${pending.id}/dispute`, { reason: 'OTHER', text: 'x' }],
      ['POST', `/api/transfers/${pending.id}/withdraw`, {}],
      ['POST', `/api/transfers/${pending.id}/comments`, { text: 'x' }],
      ['POST', `/api/transfers/${disputed.id}/arbitrate`, { decision: 'UPHOLD_SENDER', rationale: 'x' }],
      ['POST', `/api/transfers/${disputed.id}/correct`, { amount: '90.00', date: '2026-11-10', reason: 'x' }],
      ['POST', `/api/tasks/${taskId}/approve`, {}],
      ['POST', `/api/tasks/${taskId}/reject`, { reason: 'x' }],
      ['POST', `/api/tasks/${taskId}/delegate`, { to: fx.users.receiverAcc2.username }],
      ['POST', `/api/tasks/${taskId}/transfer`, { to: fx.users.receiverAcc2.username }],
      ['GET', `/api/entities/${fx.sender.code}/payment-status`],
      ['GET', `/api/entities/${fx.receiver.code}/payment-status`],
    ];
    for (const [method, path, body] of calls) {
      const r = await http(method, path, { token, body });
      expect([method, path, r.status]).toEqual([method, path, 404]);
    }
    // Nothing changed.
    const rows = await sql(`SELECT status FROM "Transfer" WHERE id = ANY($1::uuid[]) ORDER BY "createdAt"`, [[pending.id, disputed.id]]);
    expect(rows.map((r) => r.status)).toEqual(['PENDING', 'DISPUTED']);
  });

  it.each(outsiders)('list endpoints never include the pair’s objects for %s', async (who) => {
    const token = tokens[who];
    const ids = [pending.id, disputed.id];
    const transfers = await http('GET', '/api/transfers?pageSize=200', { token });
    expect(transfers.body.items.filter((t: { id: string }) => ids.includes(t.id))).toEqual([]);
    const tasks = await http('GET', '/api/tasks?pageSize=200', { token });
    expect(tasks.body.items.filter((t: { transferId: string }) => ids.includes(t.transferId))).toEqual([]);
    const policies = await http('GET', '/api/policies', { token });
    expect(policies.body.filter((p: { entity: string }) => [fx.sender.code, fx.receiver.code].includes(p.entity))).toEqual([]);
    const report = await http('GET', '/api/reports/reconciliation?period=2026-11', { token });
    expect(report.status).toBe(200);
    const codes = report.body.pairs.flatMap((p: { sender: { code: string }; receiver: { code: string } }) => [p.sender.code, p.receiver.code]);
    expect(codes.filter((c: string) => [fx.sender.code, fx.receiver.code].includes(c))).toEqual([]);
    const audit = await http('GET', `/api/audit?transferId=${pending.id}`, { token });
    expect(audit.status).toBe(200);
    expect(audit.body.items).toEqual([]);
    const auditAll = await http('GET', '/api/audit?pageSize=500', { token });
    expect(auditAll.body.items.filter((a: { transferId: string | null }) => ids.includes(a.transferId ?? ''))).toEqual([]);
    if (who === 'otherHq') {
      const disputes = await http('GET', '/api/disputes?pageSize=200', { token });
      expect(disputes.body.items.filter((t: { id: string }) => ids.includes(t.id))).toEqual([]);
    }
  });

  it('functions reserved to HQ finance answer 403 to accountants, even of a party', async () => {
    for (const token of [tokens.senderAcc, tokens.receiverAcc]) {
      const calls: Array<[string, string, unknown?]> = [
        ['PUT', '/api/policies', []],
        ['POST', '/api/periods/2026-10/freeze', { choice: 'ESCALATE' }],
        ['POST', '/api/periods/2026-10/reopen', { reason: 'x' }],
        ['PUT', '/api/fx-rates', [{ period: '2026-11', currency: 'HKD', rate: '0.92' }]],
        ['GET', '/api/disputes'],
        ['POST', `/api/transfers/${disputed.id}/arbitrate`, { decision: 'UPHOLD_SENDER', rationale: 'x' }],
      ];
      for (const [method, path, body] of calls) {
        const r = await http(method, path, { token, body });
        expect([method, path, r.status]).toEqual([method, path, 403]);
      }
    }
  });

  it('nobody confirms or arbitrates a transfer they created', async () => {
    const dual = await createFixture();
    await testPrisma().membership.create({ data: { userId: dual.users.senderAcc.id, entityId: dual.receiver.id, role: 'ACCOUNTANT' } });
    await testPrisma().user.update({ where: { id: dual.users.senderAcc.id }, data: { groupRole: 'HQ_FINANCE' } });
    const token = await login(dual.users.senderAcc.username, PASSWORD);
    const t = await http('POST', '/api/transfers', { token, body: transferBody(dual) });
    await until(async () => (await sql(`SELECT 1 FROM "Task" WHERE "transferId" = $1`, [t.body.id])).length > 0);
    const confirm = await http('POST', `/api/transfers/${t.body.id}/confirm`, { token, body: { receiptRef: 'R', quantity: '2', unitPrice: '50', amount: '100.00', date: '2026-11-11' } });
    expect(confirm.status).toBe(403);
    expect(confirm.body.message).toBe('nobody approves a transfer they created');
    const racc = await login(dual.users.receiverAcc.username, PASSWORD);
    await http('POST', `/api/transfers/${t.body.id}/dispute`, { token: racc, body: { reason: 'OTHER', text: 'no' } });
    await until(async () => (await sql(`SELECT 1 FROM "Task" WHERE "transferId" = $1 AND kind = 'ARBITRATE'`, [t.body.id])).length > 0);
    const arb = await http('POST', `/api/transfers/${t.body.id}/arbitrate`, { token, body: { decision: 'UPHOLD_SENDER', rationale: 'mine' } });
    expect(arb.status).toBe(403);
    expect(arb.body.message).toBe('nobody arbitrates a transfer they created');
  });
});
