// GET /api/transfers/:id/actions: what the current user may do on one transfer, so the
// web inbox offers only those actions. It applies the workflow's own rules
// (workflows/rules.ts) to the stored tasks; the workflow's validators stay the authority:
// an offered action can still be refused if the state moved meanwhile.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { IdParams, errors } from '../schemas';
import { loadTransfer } from '../transfers-service';
import { canAct, decisionTask } from '../../workflows/rules';

const TaskActions = Type.Object({
  taskId: Type.String({ format: 'uuid' }),
  kind: Type.String({ description: 'CONFIRM, APPROVE or ARBITRATE' }),
  approve: Type.Boolean(),
  reject: Type.Boolean(),
  delegate: Type.Boolean({ description: '委派 to a colleague' }),
  transfer: Type.Boolean({ description: '转办 to a colleague' }),
});

export const TransferActions = Type.Object(
  {
    confirm: Type.Boolean({ description: 'POST /api/transfers/:id/confirm' }),
    reject: Type.Boolean({ description: 'POST /api/transfers/:id/reject' }),
    dispute: Type.Boolean({ description: 'POST /api/transfers/:id/dispute' }),
    withdraw: Type.Boolean({ description: 'POST /api/transfers/:id/withdraw (sender, while nobody has acted)' }),
    correct: Type.Boolean({ description: 'POST /api/transfers/:id/correct (sender, while disputed)' }),
    arbitrate: Type.Boolean({ description: 'POST /api/transfers/:id/arbitrate (HQ finance, while waiting for arbitration)' }),
    comment: Type.Boolean({ description: 'POST /api/transfers/:id/comments' }),
    tasks: Type.Array(TaskActions, { description: 'open routing tasks this user may act on (POST /api/tasks/:id/...)' }),
    colleagues: Type.Array(Type.Object({ username: Type.String(), name: Type.String() }), {
      description: 'who a task can be delegated or transferred to (same entity, not you, not the creator)',
    }),
  },
  { title: 'TransferActions' },
);

const transferActions: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { prisma } = fastify.deps;
  app.addHook('onRequest', fastify.authenticate);

  app.get(
    '/transfers/:id/actions',
    {
      schema: {
        tags: ['transfers'],
        summary: 'the actions you may take on this transfer now (what the inbox offers)',
        params: IdParams,
        response: { 200: TransferActions, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const actor = request.actor;
      const t = await loadTransfer(fastify, actor, request.params.id);
      const [row, tasks, handOvers] = await Promise.all([
        prisma.transfer.findUniqueOrThrow({ where: { id: t.id }, select: { createdById: true } }),
        prisma.task.findMany({ where: { transferId: t.id }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
        prisma.auditEvent.count({ where: { transferId: t.id, action: { in: ['TASK_DELEGATED', 'TASK_TRANSFERRED'] } } }),
      ]);
      const creator = row.createdById === actor.userId;
      const open = tasks.filter((x) => canAct(actor, x));
      const pending = t.status === 'PENDING';
      // The task a confirm / reject / dispute acts on (the workflow's checkAction).
      const decideTask = pending ? decisionTask(open, t.level, actor.userId) : undefined;
      const canDecide = !!decideTask && !creator && decideTask.kind === 'CONFIRM';
      const senderSide = creator || actor.memberships.some((m) => m.entityId === t.senderEntity.id && m.role === 'ACCOUNTANT');
      const acted = handOvers > 0 || tasks.some((x) => x.actedById !== null || x.delegatedToId !== null);
      const arbitrationOpen = t.status === 'DISPUTED' && tasks.some((x) => x.kind === 'ARBITRATE' && x.status === 'OPEN');

      const taskActions = pending && !creator
        ? open
            .filter((x) => x.kind !== 'ARBITRATE')
            .map((x) => {
              const delegate = x.delegatedToId === actor.userId;
              return { taskId: x.id, kind: x.kind, approve: x.kind === 'APPROVE', reject: x.kind === 'APPROVE', delegate: !delegate, transfer: !delegate };
            })
        : [];
      let colleagues: Array<{ username: string; name: string }> = [];
      if (taskActions.some((x) => x.delegate || x.transfer)) {
        const task = open.find((x) => taskActions.some((a) => a.taskId === x.id))!;
        const users = task.candidateGroupRole
          ? await prisma.user.findMany({
              where: { active: true, groupRole: task.candidateGroupRole as 'HQ_FINANCE', memberships: { some: { entity: { groupId: { in: actor.groupIds } } } } },
              select: { id: true, username: true, displayName: true },
            })
          : await prisma.user.findMany({
              where: { active: true, memberships: { some: { entityId: task.candidateEntityId ?? t.receiverEntity.id } } },
              select: { id: true, username: true, displayName: true },
            });
        colleagues = users
          .filter((u) => u.id !== actor.userId && u.id !== row.createdById)
          .sort((a, b) => a.username.localeCompare(b.username))
          .map((u) => ({ username: u.username, name: u.displayName }));
      }
      return {
        confirm: canDecide,
        reject: canDecide,
        dispute: canDecide,
        withdraw: pending && senderSide && !acted,
        correct: t.status === 'DISPUTED' && senderSide,
        arbitrate: arbitrationOpen && actor.groupRole === 'HQ_FINANCE' && !creator,
        comment: true,
        tasks: taskActions,
        colleagues,
      };
    },
  );
};

export default transferActions;
