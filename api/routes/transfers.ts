// Transfers: create, list, detail, and the receiver's / sender's actions.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static, type TObject } from '@sinclair/typebox';
import type { WorkflowHandle } from '@temporalio/client';
import type { AuthUser } from '../plugins/auth';
import type { Prisma } from '../../prisma/client';
import {
  ActionResponse,
  ArbitrateBody,
  CommentCreateBody,
  CorrectBody,
  CreateTransferBody,
  DisputeBody,
  EntityCode,
  IdParams,
  Page,
  PageNumber,
  PageQuery,
  PageSize,
  PeriodString,
  ReceiptBody,
  RejectBody,
  TransferDetail,
  TransferStatus,
  TransferSummary,
  WithdrawBody,
  errors,
} from '../schemas';
import { assertPeriodOpen, createTransfer, loadTransfer, loadTransferDetail, overdueWhere, runAction, toSummary, transferDetail, transferInclude, transferScope } from '../transfers-service';
import { arbitrateUpdate, confirmUpdate, correctUpdate, disputeUpdate, rejectUpdate, withdrawUpdate } from '../../workflows/messages';
import type { ActionResult } from '../../workflows/types';
import { auditRow } from '../audit-row';

const ListQuery = Type.Object(
  {
    entity: Type.Optional(EntityCode),
    counterparty: Type.Optional(EntityCode),
    status: Type.Optional(TransferStatus),
    period: Type.Optional(PeriodString),
    overdue: Type.Optional(Type.Boolean()),
    page: PageNumber,
    pageSize: PageSize(),
  },
  { additionalProperties: false },
);

const transfers: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { prisma, temporal } = fastify.deps;
  app.addHook('onRequest', fastify.authenticate);

  app.post(
    '/transfers',
    {
      schema: {
        tags: ['transfers'],
        summary: 'record a transfer (sender side); a repeat of the same externalRef returns the existing one with 200',
        body: CreateTransferBody,
        response: { 201: TransferDetail, 200: TransferDetail, ...errors(400, 401, 403, 404, 409, 422, 503) },
      },
    },
    async (request, reply) => {
      const { created, transfer } = await createTransfer(fastify, request.actor, request.body);
      if (created) reply.header('location', `/api/transfers/${transfer.id}`);
      return reply.status(created ? 201 : 200).send(await transferDetail(fastify, transfer));
    },
  );

  app.get(
    '/transfers',
    {
      schema: {
        tags: ['transfers'],
        summary: 'transfers you may see, newest first',
        querystring: ListQuery,
        response: { 200: Page(TransferSummary), ...errors(400, 401) },
      },
    },
    async (request) => {
      const q = request.query;
      const codes = [q.entity, q.counterparty].filter((c): c is string => !!c);
      const entities = codes.length ? await prisma.entity.findMany({ where: { code: { in: codes } }, select: { id: true, code: true } }) : [];
      const id = (code?: string) => (code ? (entities.find((e) => e.code === code)?.id ?? '00000000-0000-0000-0000-000000000000') : undefined);
      const entityId = id(q.entity);
      const counterpartyId = id(q.counterparty);
      const and: Prisma.TransferWhereInput[] = [transferScope(request.actor)];
      if (entityId) and.push({ OR: [{ senderEntityId: entityId }, { receiverEntityId: entityId }] });
      if (counterpartyId) {
        and.push(
          entityId
            ? { OR: [{ senderEntityId: entityId, receiverEntityId: counterpartyId }, { senderEntityId: counterpartyId, receiverEntityId: entityId }] }
            : { OR: [{ senderEntityId: counterpartyId }, { receiverEntityId: counterpartyId }] },
        );
      }
      if (q.status) and.push({ status: q.status });
      if (q.period) and.push({ period: q.period });
      if (q.overdue !== undefined) {
        const now = new Date();
        and.push(q.overdue ? overdueWhere(now) : { NOT: overdueWhere(now) });
      }
      const where = { AND: and };
      const [items, total] = await Promise.all([
        prisma.transfer.findMany({ where, include: transferInclude, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], skip: (q.page - 1) * q.pageSize, take: q.pageSize }),
        prisma.transfer.count({ where }),
      ]);
      const now = Date.now();
      return { items: items.map((t) => toSummary(t, now)), total, page: q.page, pageSize: q.pageSize };
    },
  );

  app.get(
    '/transfers/:id',
    {
      schema: {
        tags: ['transfers'],
        summary: 'one transfer: both sides, differences, tasks, timeline',
        params: IdParams,
        response: { 200: TransferDetail, ...errors(400, 401, 404) },
      },
    },
    async (request) => loadTransferDetail(fastify, request.actor, request.params.id),
  );

  const action = <B>(
    name: string,
    summary: string,
    body: TObject,
    run: (handle: WorkflowHandle, actor: AuthUser, body: B) => Promise<ActionResult>,
  ) =>
    app.post(
      `/transfers/:id/${name}`,
      {
        schema: {
          tags: ['transfers'],
          summary,
          params: IdParams,
          body,
          response: { 200: ActionResponse, ...errors(400, 401, 403, 404, 409, 422) },
        },
      },
      async (request) => {
        const t = await loadTransfer(fastify, request.actor, request.params.id);
        await assertPeriodOpen(fastify, request.actor, t);
        const handle = temporal.workflow.getHandle(t.workflowId);
        const result = await runAction(fastify, t, () => run(handle, request.actor, request.body as B));
        return { ...result, transfer: await loadTransferDetail(fastify, request.actor, t.id) };
      },
    );

  app.post(
    '/transfers/:id/comments',
    {
      schema: {
        tags: ['transfers'],
        summary: 'add a comment or evidence note (either party or HQ); comments are never edited',
        params: IdParams,
        body: CommentCreateBody,
        response: { 201: Type.Object({ id: Type.String(), text: Type.String(), createdAt: Type.String({ format: 'date-time' }) }), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const t = await loadTransfer(fastify, request.actor, request.params.id);
      const a = request.actor;
      const c = await prisma.$transaction(async (tx) => {
        const row = await tx.comment.create({ data: { transferId: t.id, authorId: a.userId, authorName: a.name, text: request.body.text } });
        await tx.auditEvent.create({
          data: auditRow(a, {
            action: 'TRANSFER_COMMENTED',
            objectType: 'transfer',
            objectId: t.id,
            transferId: t.id,
            entityIds: [t.senderEntity.id, t.receiverEntity.id],
            after: { commentId: row.id, text: row.text },
            workflowId: t.workflowId,
          }),
        });
        return row;
      });
      return reply.status(201).send({ id: c.id, text: c.text, createdAt: c.createdAt.toISOString() });
    },
  );

  app.get(
    '/disputes',
    {
      onRequest: [fastify.requireHq],
      schema: {
        tags: ['disputes'],
        summary: "HQ finance's arbitration queue: disputed transfers of the group, soonest due first",
        querystring: PageQuery,
        response: { 200: Page(TransferSummary), ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { page, pageSize } = request.query;
      const where = { AND: [transferScope(request.actor), { status: 'DISPUTED' as const }] };
      const [items, total] = await Promise.all([
        prisma.transfer.findMany({ where, include: transferInclude, orderBy: [{ dueAt: 'asc' }, { id: 'asc' }], skip: (page - 1) * pageSize, take: pageSize }),
        prisma.transfer.count({ where }),
      ]);
      const now = Date.now();
      return { items: items.map((t) => toSummary(t, now)), total, page, pageSize };
    },
  );

  action<Static<typeof ReceiptBody>>(
    'confirm',
    "confirm with the receiver's own figures; a mismatch makes it DISPUTED with the differences listed",
    ReceiptBody,
    (h, actor, b) =>
      h.executeUpdate(confirmUpdate, {
        args: [
          {
            actor: plainActor(actor),
            receipt: { receiptRef: b.receiptRef, quantity: b.quantity ?? null, unitPrice: b.unitPrice ?? null, amount: b.amount, date: b.date },
            comment: b.comment,
          },
        ],
      }),
  );
  action<Static<typeof RejectBody>>('reject', 'reject (not ours / duplicate) with a reason', RejectBody, (h, actor, b) =>
    h.executeUpdate(rejectUpdate, { args: [{ actor: plainActor(actor), reason: b.reason }] }),
  );
  action<Static<typeof DisputeBody>>('dispute', 'dispute with a reason code, text and optionally a proposal', DisputeBody, (h, actor, b) =>
    h.executeUpdate(disputeUpdate, { args: [{ actor: plainActor(actor), reason: b.reason, text: b.text, proposal: b.proposal }] }),
  );
  action<Static<typeof ArbitrateBody>>(
    'arbitrate',
    'HQ finance decides a dispute: UPHOLD_SENDER, UPHOLD_RECEIVER or ADJUST (with the agreed figures), with a written rationale',
    ArbitrateBody,
    (h, actor, b) =>
      h.executeUpdate(arbitrateUpdate, {
        args: [
          {
            actor: plainActor(actor),
            decision: b.decision,
            rationale: b.rationale,
            figures: b.figures ? { quantity: b.figures.quantity ?? null, unitPrice: b.figures.unitPrice ?? null, amount: b.figures.amount, date: b.figures.date } : undefined,
          },
        ],
      }),
  );
  action<Static<typeof CorrectBody>>(
    'correct',
    'the sender corrects its own figures while the transfer is disputed; matching runs again and a match ends the dispute',
    CorrectBody,
    (h, actor, b) =>
      h.executeUpdate(correctUpdate, {
        args: [{ actor: plainActor(actor), figures: { quantity: b.quantity ?? null, unitPrice: b.unitPrice ?? null, amount: b.amount, date: b.date }, reason: b.reason }],
      }),
  );
  action<Static<typeof WithdrawBody>>('withdraw', 'withdraw (sender) while nobody has acted', WithdrawBody, (h, actor, b) =>
    h.executeUpdate(withdrawUpdate, { args: [{ actor: plainActor(actor), reason: b.reason }] }),
  );
};

/** The actor as the workflow sees it (no Map, nothing the workflow should not record). */
export function plainActor(a: AuthUser) {
  return { userId: a.userId, name: a.name, groupRole: a.groupRole, memberships: a.memberships, ip: a.ip, requestId: a.requestId };
}

export default transfers;
