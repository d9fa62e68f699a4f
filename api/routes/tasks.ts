// My tasks, and the task-level actions of routing (approve / reject / delegate / transfer).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static, type TObject } from '@sinclair/typebox';
import type { WorkflowHandle } from '@temporalio/client';
import type { Prisma, PrismaClient } from '../../prisma/client';
import { ActionResponse, CommentBody, PageQuery, HandOverBody, IdParams, RejectBody, TaskSchema, TransferSummary, errors } from '../schemas';
import { assertPeriodOpen, loadTransfer, runAction, taskViews, toSummary, transferDetail, transferInclude, unprocessable } from '../transfers-service';
import { approveTaskUpdate, delegateTaskUpdate, rejectTaskUpdate, transferTaskUpdate } from '../../workflows/messages';
import type { ActionResult, Colleague } from '../../workflows/types';
import type { AuthUser } from '../plugins/auth';
import { plainActor } from './transfers';

const MyTask = Type.Composite([TaskSchema, Type.Object({ transfer: TransferSummary })]);
/** GET /api/tasks counts open tasks up to this many. */
export const TOTAL_CAP = 1000;

/** Open tasks the user may act on: assigned, delegated to them, or offered to one of their candidate groups. */
export function myTasksWhere(actor: AuthUser): Prisma.TaskWhereInput {
  const or: Prisma.TaskWhereInput[] = [{ assigneeId: actor.userId }, { delegatedToId: actor.userId }];
  for (const m of actor.memberships) or.push({ assigneeId: null, candidateEntityId: m.entityId, candidateRole: m.role });
  if (actor.groupRole) or.push({ assigneeId: null, candidateGroupRole: actor.groupRole, transfer: { senderEntity: { groupId: { in: actor.groupIds } } } });
  return { status: 'OPEN', OR: or, transfer: { createdById: { not: actor.userId } } };
}

/** One page of my open tasks (soonest due first) and their count up to TOTAL_CAP: the queries of GET /api/tasks (bench/inbox.ts explains them). */
export async function myTasksPage(prisma: PrismaClient, actor: AuthUser, page: number, pageSize: number) {
  const where = myTasksWhere(actor);
  const [rows, total] = await Promise.all([
    prisma.task.findMany({ where, include: { transfer: { include: transferInclude } }, orderBy: [{ dueAt: 'asc' }, { id: 'asc' }], skip: (page - 1) * pageSize, take: pageSize }),
    // Counting stops past the cap: an exact count of tens of thousands of candidate tasks
    // would cost more than the page itself (bench/inbox.ts, docs/benchmarks.md).
    prisma.task.count({ where, take: TOTAL_CAP + 1 }),
  ]);
  return { rows, total: Math.min(total, TOTAL_CAP), totalCapped: total > TOTAL_CAP };
}

const tasks: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { prisma, temporal } = fastify.deps;
  app.addHook('onRequest', fastify.authenticate);

  app.get(
    '/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary: 'my open tasks (assigned, delegated to me, or offered to my entities), soonest due first',
        querystring: PageQuery,
        response: {
          200: Type.Object({
            items: Type.Array(MyTask),
            total: Type.Integer({ description: `how many open tasks you have, counted up to ${TOTAL_CAP.toLocaleString('en')}` }),
            totalCapped: Type.Boolean({ description: `true when you have more than ${TOTAL_CAP.toLocaleString('en')} (total is then ${TOTAL_CAP.toLocaleString('en')}; page on to see them)` }),
            page: Type.Integer(),
            pageSize: Type.Integer(),
          }),
          ...errors(400, 401),
        },
      },
    },
    async (request) => {
      const { page, pageSize } = request.query;
      const { rows, total, totalCapped } = await myTasksPage(prisma, request.actor, page, pageSize);
      const now = Date.now();
      const views = await taskViews(fastify, rows, now);
      return { items: views.map((v, i) => ({ ...v, transfer: toSummary(rows[i].transfer, now) })), total, totalCapped, page, pageSize };
    },
  );

  const action = <B>(name: string, summary: string, body: TObject, run: (h: WorkflowHandle, actor: AuthUser, taskId: string, body: B) => Promise<ActionResult>) =>
    app.post(
      `/tasks/:id/${name}`,
      { schema: { tags: ['tasks'], summary, params: IdParams, body, response: { 200: ActionResponse, ...errors(400, 401, 403, 404, 409, 422) } } },
      async (request) => {
        const task = await prisma.task.findUnique({ where: { id: request.params.id }, select: { transferId: true } });
        if (!task) throw fastify.httpErrors.notFound('task not found');
        const t = await loadTransfer(fastify, request.actor, task.transferId).catch(() => {
          throw fastify.httpErrors.notFound('task not found');
        });
        await assertPeriodOpen(fastify, request.actor, t);
        const result = await runAction(fastify, t, () => run(temporal.workflow.getHandle(t.workflowId), request.actor, request.params.id, request.body as B));
        return { ...result, transfer: await transferDetail(fastify, await loadTransfer(fastify, request.actor, t.id)) };
      },
    );

  async function colleague(username: string): Promise<Colleague> {
    const user = await prisma.user.findUnique({ where: { username }, include: { memberships: true } });
    if (!user || !user.active) throw unprocessable(fastify, 'to', `no active user ${username}`);
    return { userId: user.id, name: user.displayName, groupRole: user.groupRole, memberships: user.memberships.map((m) => ({ entityId: m.entityId, role: m.role })) };
  }

  action<Static<typeof CommentBody>>('approve', 'approve this task (routing); as a delegate, give your opinion back to the owner', CommentBody, (h, actor, taskId, b) =>
    h.executeUpdate(approveTaskUpdate, { args: [{ actor: plainActor(actor), taskId, comment: b.comment }] }),
  );
  action<Static<typeof RejectBody>>('reject', 'reject this task (routing): in 会签 one rejection rejects the transfer', RejectBody, (h, actor, taskId, b) =>
    h.executeUpdate(rejectTaskUpdate, { args: [{ actor: plainActor(actor), taskId, reason: b.reason }] }),
  );
  action<Static<typeof HandOverBody>>('delegate', '委派: a colleague acts, then the task returns to you', HandOverBody, async (h, actor, taskId, b) =>
    h.executeUpdate(delegateTaskUpdate, { args: [{ actor: plainActor(actor), taskId, to: await colleague(b.to), comment: b.comment }] }),
  );
  action<Static<typeof HandOverBody>>('transfer', '转办: hand the task over to a colleague for good', HandOverBody, async (h, actor, taskId, b) =>
    h.executeUpdate(transferTaskUpdate, { args: [{ actor: plainActor(actor), taskId, to: await colleague(b.to), comment: b.comment }] }),
  );
};

export default tasks;
