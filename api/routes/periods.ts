// Accounting periods (freeze / reopen, HQ) and entities' payment status.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { WorkflowFailedError } from '@temporalio/client';
import { EntityCode, EntityRef, PeriodString, StringEnum, errors } from '../schemas';
import { periodFreezeWorkflow } from '../../workflows/period';
import { plainActor } from './transfers';
import { unprocessable } from '../transfers-service';

const PeriodView = Type.Object({
  period: Type.String(),
  status: StringEnum(['OPEN', 'FROZEN'] as const),
  choice: Type.Union([StringEnum(['ESCALATE', 'ROLL_FORWARD'] as const), Type.Null()]),
  changedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  openTransfers: Type.Integer({ description: 'PENDING or DISPUTED transfers booked in the period' }),
});

const FreezeBody = Type.Object(
  {
    choice: Type.Optional(
      StringEnum(['ESCALATE', 'ROLL_FORWARD'] as const, {
        description: 'required when the period still has open transfers: ESCALATE hands them to HQ now, ROLL_FORWARD moves them to the next open period',
      }),
    ),
    reason: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

const PaymentStatus = Type.Object({
  entity: EntityRef,
  paymentsFrozen: Type.Boolean(),
  mayRaisePaymentRequests: Type.Boolean(),
  since: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  cycle: Type.Union([Type.String(), Type.Null()]),
  reasons: Type.Array(
    Type.Object({
      transferId: Type.String(),
      externalRef: Type.String(),
      counterparty: Type.String(),
      amount: Type.String(),
      currency: Type.String(),
      dueAt: Type.String({ format: 'date-time' }),
      status: Type.String(),
    }),
    { description: 'the overdue unconfirmed transfers that froze it' },
  ),
});

const periods: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { prisma, temporal, config } = fastify.deps;

  function hqGroup(groupIds: string[]): string {
    if (groupIds.length !== 1) throw unprocessable(fastify, 'group', 'your account belongs to several groups or none');
    return groupIds[0];
  }

  async function view(groupId: string, period: string) {
    const [p, open] = await Promise.all([
      prisma.period.findUnique({ where: { groupId_period: { groupId, period } } }),
      prisma.transfer.count({ where: { period, status: { in: ['PENDING', 'DISPUTED'] }, senderEntity: { groupId } } }),
    ]);
    return {
      period,
      status: p?.status ?? ('OPEN' as const),
      choice: p?.choice ?? null,
      changedAt: p?.changedAt.toISOString() ?? null,
      reason: p?.reason ?? null,
      openTransfers: open,
    };
  }

  app.get(
    '/periods',
    {
      onRequest: [fastify.authenticate],
      schema: { tags: ['periods'], summary: 'periods of your group that have transfers or a status, newest first', response: { 200: Type.Array(PeriodView), ...errors(401) } },
    },
    async (request) => {
      const groupIds = request.actor.groupIds;
      const [rows, used] = await Promise.all([
        prisma.period.findMany({ where: { groupId: { in: groupIds } }, select: { groupId: true, period: true } }),
        prisma.transfer.groupBy({ by: ['period'], where: { senderEntity: { groupId: { in: groupIds } } } }),
      ]);
      const groupId = groupIds[0];
      if (!groupId) return [];
      const names = [...new Set([...rows.map((r) => r.period), ...used.map((u) => u.period)])].sort().reverse();
      return Promise.all(names.map((p) => view(groupId, p)));
    },
  );

  app.post(
    '/periods/:period/freeze',
    {
      onRequest: [fastify.requireHq],
      schema: {
        tags: ['periods'],
        summary: 'freeze a period (HQ): nothing can be booked in it afterwards; open transfers are escalated or rolled forward, never dropped',
        params: Type.Object({ period: PeriodString }),
        body: FreezeBody,
        response: { 200: Type.Composite([PeriodView, Type.Object({ toPeriod: Type.Union([Type.String(), Type.Null()]), moved: Type.Integer() })]), 202: Type.Object({ workflowId: Type.String(), status: Type.Literal('RUNNING') }), ...errors(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const groupId = hqGroup(request.actor.groupIds);
      const { period } = request.params;
      const current = await view(groupId, period);
      if (current.status === 'FROZEN') throw Object.assign(fastify.httpErrors.conflict(`period ${period} is already frozen`), { code: 'PERIOD_FROZEN' });
      if (current.openTransfers > 0 && !request.body.choice) {
        throw Object.assign(
          fastify.httpErrors.conflict(
            `${current.openTransfers} transfer(s) are still open in ${period}: say what happens to them with choice ESCALATE (HQ finance takes them now) or ROLL_FORWARD (moved to the next open period)`,
          ),
          { code: 'FREEZE_CHOICE_REQUIRED', openTransfers: current.openTransfers },
        );
      }
      const group = await prisma.group.findUniqueOrThrow({ where: { id: groupId }, select: { code: true } });
      const n = (await prisma.auditEvent.count({ where: { action: 'PERIOD_FROZEN', objectId: period, entityIds: { isEmpty: true }, workflowId: { startsWith: `period-freeze:${group.code}:${period}:` } } })) + 1;
      const handle = await temporal.workflow.start(periodFreezeWorkflow, {
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        workflowId: `period-freeze:${group.code}:${period}:${n}`,
        args: [{ groupId, period, choice: request.body.choice ?? null, reason: request.body.reason ?? null, actor: plainActor(request.actor) }],
      });
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        handle.result(),
        new Promise<null>((r) => {
          timer = setTimeout(() => r(null), 15_000);
        }),
      ]).catch((err) => {
        if (err instanceof WorkflowFailedError) throw fastify.httpErrors.internalServerError('the freeze failed');
        throw err;
      });
      clearTimeout(timer);
      if (!result) return reply.status(202).send({ workflowId: handle.workflowId, status: 'RUNNING' as const });
      return { ...(await view(groupId, period)), toPeriod: result.toPeriod, moved: result.openTransfers };
    },
  );

  app.post(
    '/periods/:period/reopen',
    {
      onRequest: [fastify.requireHq],
      schema: {
        tags: ['periods'],
        summary: 'reopen a frozen period (HQ), with a recorded reason',
        params: Type.Object({ period: PeriodString }),
        body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false }),
        response: { 200: PeriodView, ...errors(400, 401, 403, 409, 422) },
      },
    },
    async (request) => {
      const groupId = hqGroup(request.actor.groupIds);
      const { period } = request.params;
      await prisma.$transaction(async (tx) => {
        const p = await tx.period.findUnique({ where: { groupId_period: { groupId, period } } });
        if (p?.status !== 'FROZEN') throw fastify.httpErrors.conflict(`period ${period} is not frozen`);
        await tx.period.update({ where: { groupId_period: { groupId, period } }, data: { status: 'OPEN', changedAt: new Date(), changedBy: request.actor.userId, reason: request.body.reason } });
        await tx.auditEvent.create({
          data: {
            actorId: request.actor.userId,
            actorName: request.actor.name,
            actorIp: request.ip,
            requestId: String(request.id),
            action: 'PERIOD_REOPENED',
            objectType: 'period',
            objectId: period,
            entityIds: [],
            before: { status: 'FROZEN', choice: p.choice },
            after: { status: 'OPEN' },
            reason: request.body.reason,
          },
        });
      });
      return view(groupId, period);
    },
  );

  app.get(
    '/entities/:code/payment-status',
    {
      onRequest: [fastify.authenticate],
      schema: {
        tags: ['entities'],
        summary: 'may this entity raise payment requests? (what an ERP asks before paying) and, if not, which overdue transfers froze it',
        params: Type.Object({ code: EntityCode }),
        response: { 200: PaymentStatus, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const a = request.actor;
      const entity = await prisma.entity.findUnique({ where: { code: request.params.code }, select: { id: true, code: true, name: true, groupId: true } });
      const visible = entity && (a.groupRole ? a.groupIds.includes(entity.groupId) : a.memberships.some((m) => m.entityId === entity.id));
      if (!entity || !visible) throw fastify.httpErrors.notFound(`no entity ${request.params.code}`);
      const freeze = await prisma.paymentFreeze.findUnique({
        where: { entityId: entity.id },
        include: { items: { include: { transfer: { include: { senderEntity: { select: { code: true } } } } } } },
      });
      return {
        entity: { id: entity.id, code: entity.code, name: entity.name },
        paymentsFrozen: !!freeze,
        mayRaisePaymentRequests: !freeze,
        since: freeze?.since.toISOString() ?? null,
        cycle: freeze?.cycle ?? null,
        reasons: (freeze?.items ?? []).map((i) => ({
          transferId: i.transfer.id,
          externalRef: i.transfer.externalRef,
          counterparty: i.transfer.senderEntity.code,
          amount: i.transfer.amount.toString(),
          currency: i.transfer.currency,
          dueAt: i.transfer.dueAt.toISOString(),
          status: i.transfer.status,
        })),
      };
    },
  );
};

export default periods;
