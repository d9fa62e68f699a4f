// GET /api/tasks is one SQL statement (api/my-tasks.ts) that builds the JSON body itself.
// These tests hold it to the rules it re-states: the same tasks as canAct() (the workflow's
// authority) minus the creator's own transfers and other groups' HQ tasks, each counted
// once, in due order; and the same text as the rest of the API prints for a task and its
// transfer (GET /api/transfers/:id), valid against the route's response schema.
import crypto from 'node:crypto';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { http, login } from '../helpers/http';
import { createFixture, insertTransfer, PASSWORD, testPrisma, type Fixture } from '../helpers/fixtures';
import { canAct } from '../../workflows/rules';
import { MyTasksResponse } from '../../api/routes/tasks';
import { createPrisma, pgPoolOf } from '../../prisma/client';

type TaskSetup = {
  assigneeId?: string | null;
  candidateEntityId?: string | null;
  candidateRole?: 'ACCOUNTANT' | 'SUPERVISOR' | null;
  candidateGroupRole?: 'HQ_FINANCE' | null;
  delegatedToId?: string | null;
  status?: 'OPEN' | 'DONE';
};

async function taskOn(fx: Fixture, setup: TaskSetup, opts: { createdById?: string; dueInMs: number; amount?: string; quantity?: string | null }) {
  const prisma = testPrisma();
  const t = await insertTransfer(fx, { dueInMs: opts.dueInMs, amount: opts.amount, quantity: opts.quantity });
  if (opts.createdById) await prisma.transfer.update({ where: { id: t.id }, data: { createdById: opts.createdById } });
  const id = crypto.randomUUID();
  await prisma.task.create({
    data: {
      id,
      key: `my-tasks-test:${id}`,
      transferId: t.id,
      kind: 'CONFIRM',
      status: setup.status ?? 'OPEN',
      assigneeId: setup.assigneeId ?? null,
      candidateEntityId: setup.candidateEntityId ?? null,
      candidateRole: setup.candidateRole ?? null,
      candidateGroupRole: setup.candidateGroupRole ?? null,
      delegatedToId: setup.delegatedToId ?? null,
      dueAt: new Date(Date.now() + opts.dueInMs),
    },
  });
  return id;
}

async function actorOf(userId: string) {
  const u = await testPrisma().user.findUniqueOrThrow({ where: { id: userId }, include: { memberships: true } });
  return { userId: u.id, groupRole: u.groupRole, memberships: u.memberships.map((m) => ({ entityId: m.entityId, role: m.role })) };
}

describe('GET /api/tasks', () => {
  it('lists exactly the open tasks canAct() allows, never the creator’s, never another group’s, once each, soonest due first', async () => {
    const fx = await createFixture();
    const other = await createFixture();
    const u = fx.users;
    const R = fx.receiver.id;
    // One transfer per task, due 1..n hours on, in a shuffled order so that due order is not insertion order.
    const setups: { setup: TaskSetup; createdById?: string }[] = [
      { setup: { candidateEntityId: R, candidateRole: 'ACCOUNTANT' } },
      { setup: { candidateEntityId: R, candidateRole: 'SUPERVISOR' } },
      { setup: { assigneeId: u.receiverAcc2.id } },
      { setup: { candidateEntityId: R, candidateRole: 'ACCOUNTANT', assigneeId: u.receiverAcc.id } },
      { setup: { candidateGroupRole: 'HQ_FINANCE' } },
      // An entity named: its role decides, not HQ's (canAct).
      { setup: { candidateEntityId: R, candidateRole: 'ACCOUNTANT', candidateGroupRole: 'HQ_FINANCE' } },
      { setup: { assigneeId: u.receiverSup.id, delegatedToId: u.thirdAcc.id } },
      // Delegated to someone who is also a candidate: listed once.
      { setup: { candidateEntityId: R, candidateRole: 'ACCOUNTANT', delegatedToId: u.receiverAcc.id } },
      { setup: { assigneeId: u.senderAcc.id } },
      { setup: { candidateEntityId: fx.sender.id, candidateRole: 'ACCOUNTANT' } },
      // Created by the receiver's accountant: the other accountant sees it, not its creator.
      { setup: { candidateEntityId: R, candidateRole: 'ACCOUNTANT' }, createdById: u.receiverAcc.id },
      { setup: { candidateEntityId: R, candidateRole: 'ACCOUNTANT', status: 'DONE' } },
      { setup: { assigneeId: u.hq.id, delegatedToId: u.hq.id } },
    ];
    const order = setups.map((_, i) => i).sort(() => Math.random() - 0.5);
    const made: { id: string; setup: TaskSetup; createdById: string; dueInMs: number }[] = [];
    for (const [rank, i] of order.entries()) {
      const dueInMs = (rank + 1) * 3600_000;
      const createdById = setups[i].createdById ?? u.senderAcc.id;
      made.push({ id: await taskOn(fx, setups[i].setup, { createdById, dueInMs }), setup: setups[i].setup, createdById, dueInMs });
    }
    // Another group's HQ task: only that group's HQ finance sees it.
    const foreign = await taskOn(other, { candidateGroupRole: 'HQ_FINANCE' }, { dueInMs: 3600_000 });

    for (const user of Object.values(u)) {
      const actor = await actorOf(user.id);
      const expected = made
        .filter((m) => m.createdById !== user.id)
        .filter((m) =>
          canAct(actor, {
            status: m.setup.status ?? 'OPEN',
            level: 0,
            escalationLevel: 0,
            assigneeId: m.setup.assigneeId ?? null,
            delegatedToId: m.setup.delegatedToId ?? null,
            candidateEntityId: m.setup.candidateEntityId ?? null,
            candidateRole: m.setup.candidateRole ?? null,
            candidateGroupRole: m.setup.candidateGroupRole ?? null,
          }),
        )
        .sort((a, b) => a.dueInMs - b.dueInMs)
        .map((m) => m.id);
      const token = await login(user.username, PASSWORD);
      const r = await http('GET', '/api/tasks?pageSize=100', { token });
      expect(r.status).toBe(200);
      expect({ user: user.username, ids: r.body.items.map((t: { id: string }) => t.id) }).toEqual({ user: user.username, ids: expected });
      expect(r.body).toMatchObject({ total: expected.length, totalCapped: false, page: 1, pageSize: 100 });
    }
    // Sanity of the fixture itself: every way is exercised.
    const hqIds = (await http('GET', '/api/tasks', { token: await login(u.hq.username, PASSWORD) })).body.items.map((t: { id: string }) => t.id);
    expect(hqIds).toHaveLength(2);
    expect(hqIds).not.toContain(foreign);
    const otherHq = await http('GET', '/api/tasks', { token: await login(other.users.hq.username, PASSWORD) });
    expect(otherHq.body.items.map((t: { id: string }) => t.id)).toEqual([foreign]);
  });

  it('prints a task and its transfer as GET /api/transfers/:id does, valid against the response schema', async () => {
    const fx = await createFixture();
    // Decimals with trailing zeros and a missing quantity; an overdue task and one due later.
    const late = await taskOn(fx, { candidateEntityId: fx.receiver.id, candidateRole: 'ACCOUNTANT' }, { dueInMs: -3 * 3600_000 - 123, amount: '1200.50', quantity: null });
    const soon = await taskOn(fx, { candidateEntityId: fx.receiver.id, candidateRole: 'ACCOUNTANT', delegatedToId: fx.users.receiverSup.id }, { dueInMs: 5 * 3600_000 + 7, amount: '7.00' });
    const token = await login(fx.users.receiverAcc.username, PASSWORD);
    const before = Date.now();
    const r = await http('GET', '/api/tasks?pageSize=10', { token });
    const after = Date.now();
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);

    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    const valid = ajv.validate(MyTasksResponse, r.body);
    expect(ajv.errors ?? []).toEqual([]);
    expect(valid).toBe(true);

    expect(r.body.items.map((t: { id: string }) => t.id)).toEqual([late, soon]);
    for (const item of r.body.items) {
      const detail = await http('GET', `/api/transfers/${item.transferId}`, { token });
      expect(detail.status).toBe(200);
      const { transfer, timeLeftMs, ...task } = item;
      const { timeLeftMs: detailLeft, ...detailTask } = detail.body.tasks.find((t: { id: string }) => t.id === item.id);
      expect(task).toEqual(detailTask);
      const due = Date.parse(item.dueAt);
      expect(timeLeftMs).toBeGreaterThanOrEqual(due - after);
      expect(timeLeftMs).toBeLessThanOrEqual(due - before);
      expect(Math.abs(timeLeftMs - detailLeft)).toBeLessThan(60_000);
      const summary = Object.fromEntries(Object.keys(transfer).map((k) => [k, detail.body[k]]));
      expect(transfer).toEqual(summary);
    }
    expect(r.body.items[0]).toMatchObject({ overdue: true, transfer: { overdue: true, amount: '1200.5', quantity: null } });
    expect(r.body.items[1]).toMatchObject({ overdue: false, delegatedTo: { id: fx.users.receiverSup.id }, transfer: { overdue: false, amount: '7', quantity: '10' } });
  });

  it('runs on connections that plan its named statement once (plan_cache_mode), beside Prisma preparing each of its statements once per connection', async () => {
    const prisma = createPrisma(process.env.TEST_DATABASE_URL!, { max: 1 }); // one connection each: the queries below see the session that ran the statements
    try {
      const fx = await createFixture();
      for (let i = 0; i < 2; i++) expect((await prisma.user.findUniqueOrThrow({ where: { id: fx.users.receiverAcc.id } })).id).toBe(fx.users.receiverAcc.id);
      const prepared = await prisma.$queryRaw<Array<{ name: string }>>`SELECT name FROM pg_prepared_statements WHERE name LIKE 'prisma\_%' AND statement LIKE '%FROM "public"."User"%'`;
      expect(prepared.length).toBeGreaterThanOrEqual(1);
      // Prisma's statements are planned as PostgreSQL plans any prepared statement ...
      expect(await prisma.$queryRaw`SELECT current_setting('plan_cache_mode') AS mode`).toEqual([{ mode: 'auto' }]);
      // ... the hand-written ones (pgPoolOf) once per connection.
      expect((await pgPoolOf(prisma).query<{ plan_cache_mode: string }>('SHOW plan_cache_mode')).rows).toEqual([{ plan_cache_mode: 'force_generic_plan' }]);
      // The server ending an idle connection of that pool (a restart) costs nothing but a reconnect.
      const [{ pid }] = (await pgPoolOf(prisma).query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
      await testPrisma().$queryRaw`SELECT pg_terminate_backend(${pid}::int)`;
      await new Promise((r) => setTimeout(r, 200));
      expect((await pgPoolOf(prisma).query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid).not.toBe(pid);
    } finally {
      await prisma.$disconnect();
    }
    expect(() => pgPoolOf({} as never)).toThrow('this PrismaClient was not made by createPrisma()');
  });

  it('answers 401 for a disabled user at once', async () => {
    const fx = await createFixture();
    const token = await login(fx.users.receiverAcc.username, PASSWORD);
    expect((await http('GET', '/api/tasks', { token })).status).toBe(200);
    await testPrisma().user.update({ where: { id: fx.users.receiverAcc.id }, data: { active: false } });
    const r = await http('GET', '/api/tasks', { token });
    expect(r.status).toBe(401);
    expect(r.body.message).toMatch(/disabled/);
  });
});
