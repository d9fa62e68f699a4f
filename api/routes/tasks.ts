// My tasks, and the task-level actions of routing (approve / reject / delegate / transfer).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static, type TObject } from '@sinclair/typebox';
import type { WorkflowHandle } from '@temporalio/client';
import { ActionResponse, CommentBody, PageQuery, HandOverBody, IdParams, RejectBody, TaskSchema, TransferSummary, errors } from '../schemas';
import { assertPeriodOpen, loadTransfer, loadTransferDetail, runAction, unprocessable } from '../transfers-service';
import { inboxCacheKey, inboxKeys, myTasksBody, TOTAL_CAP } from '../my-tasks';
import { approveTaskUpdate, delegateTaskUpdate, rejectTaskUpdate, transferTaskUpdate } from '../../workflows/messages';
import type { ActionResult, Colleague } from '../../workflows/types';
import type { AuthUser } from '../plugins/auth';
import { plainActor } from './transfers';

const MyTask = Type.Composite([TaskSchema, Type.Object({ transfer: TransferSummary })]);
/** The body of GET /api/tasks (built by PostgreSQL: api/my-tasks.ts; tests check it against this). */
export const MyTasksResponse = Type.Object({
  items: Type.Array(MyTask),
  total: Type.Integer({ description: `how many open tasks you have, counted up to ${TOTAL_CAP.toLocaleString('en')}` }),
  totalCapped: Type.Boolean({ description: `true when you have more than ${TOTAL_CAP.toLocaleString('en')} (total is then ${TOTAL_CAP.toLocaleString('en')}; page on to see them)` }),
  page: Type.Integer(),
  pageSize: Type.Integer(),
});

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
        description:
          'Answered from memory until one of these tasks, their transfers or the names they show changes (`x-cache: hit`), else read (`miss`, or `shared` with a read already under way). ' +
          'Countdowns (`timeLeftMs`, `overdue`) may be up to READ_CACHE_TTL_MS old (1 s by default). `Cache-Control: no-cache` reads through.',
        querystring: PageQuery,
        response: {
          200: MyTasksResponse,
          ...errors(400, 401),
        },
      },
    },
    async (request, reply) => {
      const { page, pageSize } = request.query;
      const actor = request.actor;
      // PostgreSQL builds the body (api/my-tasks.ts); tests check it against this schema.
      // From the inboxes cache while none of the ways a task reaches this user has changed
      // (api/read-cache.ts); `Cache-Control: no-cache` reads through.
      const keys = inboxKeys(actor);
      const { value: body, state } = await fastify.caches.inboxes.get(
        inboxCacheKey(keys, page, pageSize),
        keys,
        async () => Buffer.from(await myTasksBody(prisma, actor, page, pageSize)),
        /no-cache/i.test(request.headers['cache-control'] ?? ''),
      );
      // Already JSON, encoded once: Fastify sends a Buffer as it is (no serializer runs).
      return reply
        .type('application/json; charset=utf-8')
        .header('x-cache', state)
        .send(body as never);
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
        return { ...result, transfer: await loadTransferDetail(fastify, request.actor, t.id) };
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
