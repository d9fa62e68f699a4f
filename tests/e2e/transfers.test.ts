// Transfers over HTTP against the running stack: validation, scoping between entities,
// concurrent actions, routing actions, policies.
import { http, login } from '../helpers/http';
import { createFixture, transferBody, PASSWORD, testPrisma, type Fixture } from '../helpers/fixtures';
import { sql } from '../helpers/db';
import { until } from '../helpers/wait';

interface Tokens {
  senderAcc: string;
  receiverAcc: string;
  receiverAcc2: string;
  receiverSup: string;
  thirdAcc: string;
  hq: string;
}

async function tokens(fx: Fixture): Promise<Tokens> {
  const [senderAcc, receiverAcc, receiverAcc2, receiverSup, thirdAcc, hq] = await Promise.all(
    (['senderAcc', 'receiverAcc', 'receiverAcc2', 'receiverSup', 'thirdAcc', 'hq'] as const).map((w) => login(fx.users[w].username, PASSWORD)),
  );
  return { senderAcc, receiverAcc, receiverAcc2, receiverSup, thirdAcc, hq };
}

const body = (fx: Fixture, over: Record<string, unknown> = {}) => transferBody(fx, over);

async function createTransfer(fx: Fixture, t: Tokens, over: Record<string, unknown> = {}) {
  const r = await http('POST', '/api/transfers', { token: t.senderAcc, body: body(fx, over) });
  expect(r.status).toBe(201);
  await until(async () => (await sql(`SELECT 1 FROM "Task" WHERE "transferId" = $1`, [r.body.id])).length > 0);
  return r.body;
}

const receipt = { receiptRef: 'GR-77', quantity: '4', unitPrice: '25.125', amount: '100.50', date: '2026-11-19' };

describe('creating transfers', () => {
  let fx: Fixture;
  let t: Tokens;
  beforeAll(async () => {
    fx = await createFixture();
    t = await tokens(fx);
  });

  it.each([
    [{ amount: '100.00' }, 422, 'amount: must equal quantity × unitPrice = 100.50 (to the cent)'],
    [{ receiverEntity: 'NOPE' }, 422, 'receiverEntity: no entity NOPE in the group'],
    [{ receiverEntity: '__self__' }, 422, 'receiverEntity: must differ from senderEntity'],
    [{ unitPrice: undefined }, 422, 'unitPrice: quantity and unitPrice go together: give both or neither'],
    [{ quantity: '-4', amount: '-100.50' }, 422, 'quantity: must be positive'],
  ])('refuses %j with %i naming the field', async (over, status, message) => {
    const b = body(fx, over);
    if (b.receiverEntity === '__self__') b.receiverEntity = fx.sender.code;
    const r = await http('POST', '/api/transfers', { token: t.senderAcc, body: b });
    expect(r.status).toBe(status);
    expect(r.body.message).toBe(message);
  });

  it('validates the body by schema: 400 naming each field and rule', async () => {
    const r = await http('POST', '/api/transfers', {
      token: t.senderAcc,
      body: { ...body(fx), amount: 100.5, period: '2026-13', currency: 'cny', status: 'CONFIRMED', type: 'GIFT' },
    });
    expect(r.status).toBe(400);
    const fields = r.body.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['amount', 'period', 'currency', 'status', 'type']));
    expect(r.body.details.find((d: { field: string }) => d.field === 'status')).toMatchObject({ rule: 'additionalProperties', message: 'unknown field' });
  });

  it('only an accountant of the sender may create its transfers', async () => {
    expect((await http('POST', '/api/transfers', { token: t.receiverAcc, body: body(fx) })).status).toBe(404);
    const asSup = await http('POST', '/api/transfers', { token: await login(fx.users.senderSup.username, PASSWORD), body: body(fx) });
    expect(asSup.status).toBe(403);
    expect(asSup.body.message).toContain(`only an accountant of ${fx.sender.code}`);
  });

  it('refuses a transfer in a frozen period, naming it', async () => {
    const period = '2026-09';
    await testPrisma().period.create({ data: { groupId: fx.groupId, period, status: 'FROZEN' } });
    const r = await http('POST', '/api/transfers', { token: t.senderAcc, body: body(fx, { period }) });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'PERIOD_FROZEN', message: `period ${period} is frozen: no new transfers can be booked in it` });
  });
});

describe('scoping between entities', () => {
  it('an accountant of a third entity can neither see nor act on the transfer (404)', async () => {
    const fx = await createFixture();
    const t = await tokens(fx);
    const tr = await createTransfer(fx, t);
    const [task] = await sql(`SELECT id FROM "Task" WHERE "transferId" = $1`, [tr.id]);
    expect((await http('GET', `/api/transfers/${tr.id}`, { token: t.thirdAcc })).status).toBe(404);
    for (const [path, b] of [
      ['confirm', receipt],
      ['reject', { reason: 'x' }],
      ['dispute', { reason: 'OTHER', text: 'x' }],
      ['withdraw', {}],
    ] as const) {
      const r = await http('POST', `/api/transfers/${tr.id}/${path}`, { token: t.thirdAcc, body: b });
      expect([path, r.status]).toEqual([path, 404]);
    }
    for (const [path, b] of [
      ['approve', {}],
      ['reject', { reason: 'x' }],
      ['delegate', { to: fx.users.thirdAcc.username }],
      ['transfer', { to: fx.users.thirdAcc.username }],
    ] as const) {
      const r = await http('POST', `/api/tasks/${task.id}/${path}`, { token: t.thirdAcc, body: b });
      expect([path, r.status]).toEqual([path, 404]);
    }
    const list = await http('GET', '/api/transfers?pageSize=200', { token: t.thirdAcc });
    expect(list.body.items.map((x: { id: string }) => x.id)).not.toContain(tr.id);
    const inbox = await http('GET', '/api/tasks', { token: t.thirdAcc });
    expect(inbox.body.items.map((x: { transferId: string }) => x.transferId)).not.toContain(tr.id);
    // The sender sees it but has no task: 403 on confirm; HQ of another group gets 404.
    expect((await http('POST', `/api/transfers/${tr.id}/confirm`, { token: t.senderAcc, body: receipt })).status).toBe(403);
    const other = await createFixture();
    const otherHq = await login(other.users.hq.username, PASSWORD);
    expect((await http('GET', `/api/transfers/${tr.id}`, { token: otherHq })).status).toBe(404);
    expect((await http('GET', `/api/transfers/${tr.id}`, { token: t.hq })).status).toBe(200);
  });
});

describe('acting on a transfer', () => {
  it('20 concurrent confirm / dispute calls on one task: exactly one wins, the rest get 409', async () => {
    const fx = await createFixture();
    const t = await tokens(fx);
    const tr = await createTransfer(fx, t);
    const calls = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0
        ? http('POST', `/api/transfers/${tr.id}/confirm`, { token: i % 4 === 0 ? t.receiverAcc : t.receiverAcc2, body: receipt })
        : http('POST', `/api/transfers/${tr.id}/dispute`, { token: t.receiverAcc2, body: { reason: 'QUANTITY', text: 'only 3 kg arrived' } }),
    );
    const results = await Promise.all(calls);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const winner = results.find((r) => r.status === 200)!;
    const [row] = await sql(`SELECT status FROM "Transfer" WHERE id = $1`, [tr.id]);
    expect(row.status).toBe(winner.body.status);
    const decisions = await sql(`SELECT action FROM "AuditEvent" WHERE "transferId" = $1 AND action IN ('TRANSFER_CONFIRM','TRANSFER_DISPUTE')`, [tr.id]);
    expect(decisions).toHaveLength(1);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.error).toBe('Conflict');
  });

  it('a mismatch over HTTP shows the differences on the transfer and takes it out of the inbox', async () => {
    const fx = await createFixture();
    const t = await tokens(fx);
    const tr = await createTransfer(fx, t);
    const r = await http('POST', `/api/transfers/${tr.id}/confirm`, { token: t.receiverAcc, body: { ...receipt, quantity: '3', amount: '75.38' } });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('DISPUTED');
    expect(r.body.transfer.differences).toEqual([
      { field: 'quantity', senderValue: '4', receiverValue: '3', delta: '-1' },
      { field: 'amount', senderValue: '100.5', receiverValue: '75.38', delta: '-25.12' },
    ]);
    const detail = await http('GET', `/api/transfers/${tr.id}`, { token: t.senderAcc });
    expect(detail.body).toMatchObject({
      status: 'DISPUTED',
      sender: { quantity: '4', unitPrice: '25.125', amount: '100.5', date: '2026-11-18' },
      receiver: { receiptRef: 'GR-77', quantity: '3', amount: '75.38' },
    });
    const timeline = await until(async () => {
      const d = await http('GET', `/api/transfers/${tr.id}`, { token: t.senderAcc });
      return d.body.timeline.length >= 4 ? d.body.timeline : null;
    });
    const actions = timeline.map((e: { action: string }) => e.action);
    expect(actions.slice(0, 2)).toEqual(['TRANSFER_CREATED', 'TRANSFER_ROUTED']);
    // The decision is persisted first, then the opening of arbitration (patch
    // 'arbitration-after-decision' in workflows/transfer.ts).
    expect(actions.slice(2)).toEqual(['TRANSFER_MISMATCH', 'ARBITRATION_OPENED']);
    expect(detail.body.temporalUrl).toContain(encodeURIComponent(tr.workflowId));
    const inbox = await http('GET', '/api/tasks', { token: t.receiverAcc });
    expect(inbox.body.items.map((x: { transferId: string }) => x.transferId)).not.toContain(tr.id);
  });

  it('lists my tasks soonest due first with time left, and delegates by username', async () => {
    const fx = await createFixture();
    const t = await tokens(fx);
    const first = await createTransfer(fx, t);
    const second = await createTransfer(fx, t);
    const inbox = await http('GET', '/api/tasks', { token: t.receiverAcc });
    expect(inbox.status).toBe(200);
    const mine = inbox.body.items.filter((x: { transferId: string }) => [first.id, second.id].includes(x.transferId));
    expect(mine.map((x: { transferId: string }) => x.transferId)).toEqual([first.id, second.id]);
    expect(mine[0].timeLeftMs).toBeGreaterThan(47 * 3600_000);
    expect(mine[0].transfer).toMatchObject({ externalRef: first.externalRef, amount: '100.5', senderEntity: { code: fx.sender.code } });
    // The creator never sees their own transfer as a task, even as a member of the receiver.
    expect((await http('GET', '/api/tasks', { token: t.senderAcc })).body.items).toEqual([]);

    const d = await http('POST', `/api/tasks/${mine[0].id}/delegate`, { token: t.receiverAcc, body: { to: fx.users.receiverAcc2.username, comment: '请核对' } });
    expect(d.status).toBe(200);
    const inbox2 = await http('GET', '/api/tasks', { token: t.receiverAcc2 });
    expect(inbox2.body.items.find((x: { id: string }) => x.id === mine[0].id)).toMatchObject({ delegatedTo: { id: fx.users.receiverAcc2.id } });
    const bad = await http('POST', `/api/tasks/${mine[1].id}/transfer`, { token: t.receiverAcc, body: { to: 'no.such.user' } });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toBe('to: no active user no.such.user');
  });

  it('filters the transfer list by status, counterparty, period and overdue', async () => {
    const fx = await createFixture();
    const t = await tokens(fx);
    const a = await createTransfer(fx, t);
    const b = await createTransfer(fx, t, { period: '2026-10', documentDate: '2026-10-30' });
    await http('POST', `/api/transfers/${a.id}/confirm`, { token: t.receiverAcc, body: receipt });
    const ids = async (q: string) => (await http('GET', `/api/transfers?${q}`, { token: t.senderAcc })).body.items.map((x: { id: string }) => x.id);
    expect(await ids('status=CONFIRMED')).toEqual([a.id]);
    expect(await ids('status=PENDING')).toEqual([b.id]);
    expect(await ids(`period=2026-10&counterparty=${fx.receiver.code}`)).toEqual([b.id]);
    expect(await ids(`counterparty=${fx.third.code}`)).toEqual([]);
    expect(await ids('overdue=true')).toEqual([]);
    await sql(`UPDATE "Transfer" SET "dueAt" = now() - interval '1 hour' WHERE id = $1`, [b.id]);
    expect(await ids('overdue=true')).toEqual([b.id]);
    const page = await http('GET', '/api/transfers?pageSize=1&page=2', { token: t.senderAcc });
    expect(page.body).toMatchObject({ total: 2, page: 2, pageSize: 1 });
    expect((await http('GET', '/api/transfers?status=DONE', { token: t.senderAcc })).status).toBe(400);
  });

  it('COUNTERSIGN over HTTP: both approve through their tasks', async () => {
    const fx = await createFixture();
    const t = await tokens(fx);
    const put = await http('PUT', '/api/policies', {
      token: t.hq,
      body: [{ entity: fx.receiver.code, name: '会签', mode: 'COUNTERSIGN', levels: [{ users: [fx.users.receiverAcc.username, fx.users.receiverSup.username] }] }],
    });
    expect(put.status).toBe(200);
    const tr = await createTransfer(fx, t);
    const tasks = await until(async () => {
      const rows = await sql(`SELECT id, "assigneeId" FROM "Task" WHERE "transferId" = $1`, [tr.id]);
      return rows.length === 2 ? rows : null;
    });
    const acc = tasks.find((x) => x.assigneeId === fx.users.receiverAcc.id);
    const sup = tasks.find((x) => x.assigneeId === fx.users.receiverSup.id);
    expect((await http('POST', `/api/tasks/${sup.id}/approve`, { token: t.receiverAcc, body: {} })).status).toBe(403);
    expect((await http('POST', `/api/tasks/${acc.id}/approve`, { token: t.receiverAcc, body: { comment: 'ok' } })).body.status).toBe('PENDING');
    expect((await http('POST', `/api/tasks/${sup.id}/approve`, { token: t.receiverSup, body: {} })).body.status).toBe('CONFIRMED');
  });
});

describe('approval policies', () => {
  it('HQ replaces an entity’s policies (audited); others read their own and cannot write', async () => {
    const fx = await createFixture();
    const t = await tokens(fx);
    const next = [
      { entity: fx.receiver.code, name: 'default', mode: 'SINGLE', levels: [{ role: 'ACCOUNTANT' }] },
      { entity: fx.receiver.code, name: 'big', mode: 'SEQUENTIAL', minAmount: '1000000', levels: [{ role: 'ACCOUNTANT' }, { role: 'SUPERVISOR' }], priority: 10 },
    ];
    expect((await http('PUT', '/api/policies', { token: t.receiverSup, body: next })).status).toBe(403);
    const put = await http('PUT', '/api/policies', { token: t.hq, body: next });
    expect(put.status).toBe(200);
    expect(put.body.map((p: { name: string }) => p.name)).toEqual(['big', 'default']);
    const mine = await http('GET', '/api/policies', { token: t.receiverAcc });
    expect(mine.body.map((p: { entity: string }) => p.entity)).toEqual([fx.receiver.code, fx.receiver.code]);
    expect((await http('GET', '/api/policies', { token: t.thirdAcc })).body).toEqual([]);
    const [audit] = await sql(`SELECT action, "actorId" FROM "AuditEvent" WHERE action = 'POLICIES_REPLACED' AND "objectId" = $1`, [fx.receiver.code]);
    expect(audit).toMatchObject({ actorId: fx.users.hq.id });
    const bad = await http('PUT', '/api/policies', { token: t.hq, body: [{ ...next[0], mode: 'COUNTERSIGN', levels: [{ users: ['ghost'] }] }] });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toBe('levels.users: unknown users: ghost');
  });
});
