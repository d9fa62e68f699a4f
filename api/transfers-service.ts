// Reads transfers and tasks from Postgres (scoped to what the user may see) and sends
// actions to the transfer's workflow, mapping its errors to HTTP statuses.
import type { FastifyInstance } from 'fastify';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  isGrpcServiceError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Prisma } from '../prisma/client';
import type { AuthUser } from './plugins/auth';
import type { CreateTransferBody } from './schemas';
import { durationMs } from '../workflows/matching';
import { figureErrors, receiverError } from './transfer-rules';
import { transferWorkflow } from '../workflows/transfer';
import type { Difference } from '../workflows/types';
import { auditRow } from './audit-row';

const iso = (d: Date) => d.toISOString();
const day = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : null);
const str = (d: Prisma.Decimal | null) => (d === null ? null : d.toString());

export const transferInclude = {
  senderEntity: { select: { id: true, code: true, name: true, groupId: true } },
  receiverEntity: { select: { id: true, code: true, name: true } },
  createdBy: { select: { id: true, displayName: true } },
} satisfies Prisma.TransferInclude;
type TransferRow = Prisma.TransferGetPayload<{ include: typeof transferInclude }>;

/** A transfer with what its detail view shows beside the row, read in the same statement (relationJoins). */
const detailInclude = {
  ...transferInclude,
  tasks: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
  comments: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
} satisfies Prisma.TransferInclude;
type DetailRow = Prisma.TransferGetPayload<{ include: typeof detailInclude }>;

export function workflowIdFor(senderCode: string, externalRef: string): string {
  return `transfer:${senderCode}:${externalRef}`;
}

/** Transfers the user may see: HQ sees all of its group; others those where one of their entities is a party. */
export function transferScope(actor: AuthUser): Prisma.TransferWhereInput {
  if (actor.groupRole) return { senderEntity: { groupId: { in: actor.groupIds } } };
  const mine = actor.memberships.map((m) => m.entityId);
  return { OR: [{ senderEntityId: { in: mine } }, { receiverEntityId: { in: mine } }] };
}

/**
 * Overdue = still PENDING past the receiver's deadline. After an escalation `dueAt` is the
 * supervisor's (or HQ's) deadline, but the transfer stays overdue.
 */
export function isOverdue(t: { status: string; escalationLevel: number; dueAt: Date }, now = Date.now()): boolean {
  return t.status === 'PENDING' && (t.escalationLevel > 0 || t.dueAt.getTime() < now);
}

export function overdueWhere(now = new Date()): Prisma.TransferWhereInput {
  return { status: 'PENDING', OR: [{ escalationLevel: { gt: 0 } }, { dueAt: { lt: now } }] };
}

export function toSummary(t: TransferRow, now = Date.now()) {
  return {
    id: t.id,
    workflowId: t.workflowId,
    senderEntity: { id: t.senderEntity.id, code: t.senderEntity.code, name: t.senderEntity.name },
    receiverEntity: t.receiverEntity,
    type: t.type,
    externalRef: t.externalRef,
    quantity: str(t.quantity),
    unit: t.unit,
    unitPrice: str(t.unitPrice),
    amount: t.amount.toString(),
    currency: t.currency,
    documentDate: day(t.documentDate)!,
    period: t.period,
    memo: t.memo,
    status: t.status,
    dueAt: iso(t.dueAt),
    overdue: isOverdue(t, now),
    level: t.level,
    escalationLevel: t.escalationLevel,
    createdBy: { id: t.createdBy.id, name: t.createdBy.displayName },
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
  };
}

export type TaskRow = Prisma.TaskGetPayload<object>;

export async function taskViews(fastify: FastifyInstance, tasks: TaskRow[], now = Date.now()) {
  const { prisma } = fastify.deps;
  const userIds = [...new Set(tasks.flatMap((t) => [t.assigneeId, t.delegatedToId, t.actedById, t.onBehalfOfId]).filter((x): x is string => !!x))];
  const entityIds = [...new Set(tasks.map((t) => t.candidateEntityId).filter((x): x is string => !!x))];
  const [users, entities] = await Promise.all([
    userIds.length ? prisma.user.findMany({ where: { id: { in: userIds } }, select: { id: true, displayName: true } }) : [],
    entityIds.length ? prisma.entity.findMany({ where: { id: { in: entityIds } }, select: { id: true, code: true, name: true } }) : [],
  ]);
  const u = new Map(users.map((x) => [x.id, { id: x.id, name: x.displayName }]));
  const e = new Map(entities.map((x) => [x.id, x]));
  const ref = (id: string | null) => (id ? (u.get(id) ?? { id, name: '?' }) : null);
  return tasks.map((t) => ({
    id: t.id,
    transferId: t.transferId,
    kind: t.kind,
    status: t.status,
    level: t.level,
    escalationLevel: t.escalationLevel,
    assignee: ref(t.assigneeId),
    delegatedTo: ref(t.delegatedToId),
    onBehalfOf: ref(t.onBehalfOfId),
    candidateEntity: t.candidateEntityId ? (e.get(t.candidateEntityId) ?? null) : null,
    candidateRole: t.candidateRole,
    candidateGroupRole: t.candidateGroupRole,
    dueAt: iso(t.dueAt),
    timeLeftMs: t.dueAt.getTime() - now,
    overdue: t.status === 'OPEN' && t.dueAt.getTime() < now,
    outcome: t.outcome,
    actedBy: ref(t.actedById),
    actedAt: t.actedAt ? iso(t.actedAt) : null,
    comment: t.comment,
    createdAt: iso(t.createdAt),
  }));
}

export async function loadTransfer(fastify: FastifyInstance, actor: AuthUser, id: string): Promise<TransferRow> {
  const t = await fastify.deps.prisma.transfer.findFirst({ where: { id, ...transferScope(actor) }, include: transferInclude });
  if (!t) throw fastify.httpErrors.notFound('transfer not found');
  return t;
}

/** The detail view of a transfer the user may see (404 otherwise). */
export async function loadTransferDetail(fastify: FastifyInstance, actor: AuthUser, id: string) {
  const t = await fastify.deps.prisma.transfer.findFirst({ where: { id, ...transferScope(actor) }, include: detailInclude });
  if (!t) throw fastify.httpErrors.notFound('transfer not found');
  return transferDetail(fastify, t);
}

export async function transferDetail(fastify: FastifyInstance, t: DetailRow) {
  const { prisma, config } = fastify.deps;
  const { comments } = t;
  const [audit, tasks] = await Promise.all([
    prisma.auditEvent.findMany({ where: { transferId: t.id }, orderBy: { id: 'asc' }, take: 500 }),
    taskViews(fastify, t.tasks),
  ]);
  const hasReceipt = t.receiptAmount !== null;
  return {
    ...toSummary(t),
    sender: { quantity: str(t.quantity), unitPrice: str(t.unitPrice), amount: t.amount.toString(), date: day(t.documentDate) },
    receiver: hasReceipt
      ? { receiptRef: t.receiptRef, quantity: str(t.receiptQuantity), unitPrice: str(t.receiptUnitPrice), amount: str(t.receiptAmount), date: day(t.receiptDate) }
      : null,
    differences: (t.differences as Difference[] | null) ?? [],
    dispute: t.disputeReason ? { reason: t.disputeReason, text: t.disputeText, proposal: t.disputeProposal ?? null } : null,
    rejectReason: t.rejectReason,
    resolution: t.resolution
      ? {
          decision: t.resolution,
          rationale: t.resolutionNote,
          quantity: str(t.resolvedQuantity),
          unitPrice: str(t.resolvedUnitPrice),
          amount: str(t.resolvedAmount),
          date: day(t.resolvedDate),
          decidedBy: t.resolvedById,
        }
      : null,
    comments: comments.map((c) => ({ id: c.id, author: { id: c.authorId, name: c.authorName }, text: c.text, createdAt: iso(c.createdAt) })),
    policy: t.policy ?? null,
    tasks,
    timeline: audit.map((a) => ({
      at: iso(a.at),
      actor: a.actorName ?? 'system',
      action: a.action,
      objectType: a.objectType,
      objectId: a.objectId,
      reason: a.reason,
      before: a.before ?? null,
      after: a.after ?? null,
    })),
    temporalUrl: `${config.TEMPORAL_UI_URL.replace(/\/$/, '')}/namespaces/${encodeURIComponent(config.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(t.workflowId)}`,
  };
}

/** Creates the transfer row and starts its workflow. `created` is false for a repeat of the same document. */
export async function createTransfer(fastify: FastifyInstance, actor: AuthUser, body: CreateTransferBody) {
  const { prisma, temporal, config } = fastify.deps;
  const { httpErrors } = fastify;
  const [sender, receiver] = await Promise.all([
    prisma.entity.findUnique({ where: { code: body.senderEntity }, include: { group: true } }),
    prisma.entity.findUnique({ where: { code: body.receiverEntity } }),
  ]);
  const isSenderAccountant = sender && actor.memberships.some((m) => m.entityId === sender.id && m.role === 'ACCOUNTANT');
  if (!sender || (!isSenderAccountant && !actor.groupRole && !actor.memberships.some((m) => m.entityId === sender.id))) {
    throw httpErrors.notFound(`senderEntity: no entity ${body.senderEntity} among yours`);
  }
  if (!isSenderAccountant) throw httpErrors.forbidden(`senderEntity: only an accountant of ${sender.code} can create its transfers`);
  // The same rules as a line of a bulk import (api/transfer-rules.ts); the first one broken answers.
  const wrong = receiverError(sender, receiver, body.receiverEntity) ?? figureErrors(body)[0];
  if (wrong || !receiver) throw unprocessable(fastify, wrong?.field ?? 'receiverEntity', wrong?.reason ?? `no entity ${body.receiverEntity} in the group`);
  const quantity = body.quantity ?? null;
  const unitPrice = body.unitPrice ?? null;
  const period = await prisma.period.findUnique({ where: { groupId_period: { groupId: sender.groupId, period: body.period } } });
  if (period?.status === 'FROZEN') {
    throw Object.assign(httpErrors.conflict(`period ${body.period} is frozen: no new transfers can be booked in it`), { code: 'PERIOD_FROZEN' });
  }

  const workflowId = workflowIdFor(sender.code, body.externalRef);
  const within = durationMs(receiver.confirmWithin ?? sender.group.confirmWithin);
  let created = true;
  let row: DetailRow;
  try {
    row = await prisma.$transaction(async (tx) => {
      const t = await tx.transfer.create({
        data: {
          workflowId,
          senderEntityId: sender.id,
          receiverEntityId: receiver.id,
          type: body.type,
          externalRef: body.externalRef,
          quantity,
          unit: body.unit ?? null,
          unitPrice,
          amount: body.amount,
          currency: body.currency,
          documentDate: new Date(`${body.documentDate}T00:00:00Z`),
          period: body.period,
          memo: body.memo ?? null,
          createdById: actor.userId,
          dueAt: new Date(Date.now() + within),
        },
      });
      await tx.auditEvent.create({
        data: auditRow(actor, {
          action: 'TRANSFER_CREATED',
          objectType: 'transfer',
          objectId: t.id,
          transferId: t.id,
          entityIds: [sender.id, receiver.id],
          after: { ...body, status: t.status, dueAt: t.dueAt.toISOString(), workflowId } as Prisma.InputJsonValue,
          workflowId,
        }),
      });
      return t.id;
    }).then((id) => prisma.transfer.findUniqueOrThrow({ where: { id }, include: detailInclude }));
  } catch (err) {
    if (!(err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002')) throw err;
    created = false;
    row = await prisma.transfer.findUniqueOrThrow({
      where: { senderEntityId_externalRef: { senderEntityId: sender.id, externalRef: body.externalRef } },
      include: detailInclude,
    });
  }
  // Start (or, for a repeat whose first start was lost, resume starting) the workflow.
  try {
    await temporal.workflow.start(transferWorkflow, {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId: row.workflowId,
      args: [{ transferId: row.id }],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
      if (created) request503(fastify, err);
      throw err;
    }
  }
  return { created, transfer: row };
}

function request503(fastify: FastifyInstance, err: unknown): never {
  fastify.log.error({ err }, 'could not start the transfer workflow');
  throw fastify.httpErrors.serviceUnavailable('the workflow service is unavailable; the transfer is saved, and its workflow starts by itself within a few minutes of the service coming back (or when you send it again)');
}

export function unprocessable(fastify: FastifyInstance, field: string, message: string) {
  return Object.assign(fastify.httpErrors.unprocessableEntity(`${field}: ${message}`), { code: 'INVALID_FIELD', field });
}

/** First guard (the workflow holds the second): nothing changes in a frozen period, HQ finance excepted. */
export async function assertPeriodOpen(fastify: FastifyInstance, actor: AuthUser, t: { period: string; senderEntity: { groupId: string } }): Promise<void> {
  if (actor.groupRole === 'HQ_FINANCE') return;
  const p = await fastify.deps.prisma.period.findUnique({ where: { groupId_period: { groupId: t.senderEntity.groupId, period: t.period } }, select: { status: true } });
  if (p?.status === 'FROZEN') {
    throw Object.assign(fastify.httpErrors.conflict(`period ${t.period} is frozen: no confirmation or change can be booked in it until HQ reopens it`), { code: 'PERIOD_FROZEN' });
  }
}

const STATUS_BY_TYPE: Record<string, number> = { Forbidden: 403, Conflict: 409, Invalid: 422, NotFound: 404 };

/** The gRPC status code of a Temporal client error: on it, or on its cause (the client wraps it in a ServiceError). */
function grpcCodeOf(err: unknown): number | undefined {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e)) return e.code;
  }
  return undefined;
}

/** Runs a workflow Update and maps its failure to an HTTP error. */
export async function runAction<T>(fastify: FastifyInstance, t: { status: string }, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      const status = STATUS_BY_TYPE[err.cause.type ?? ''];
      if (status) {
        const e = fastify.httpErrors.createError(status, err.cause.message);
        if (/^period \S+ is frozen/.test(err.cause.message)) Object.assign(e, { code: 'PERIOD_FROZEN' });
        throw e;
      }
    }
    if (err instanceof WorkflowNotFoundError || grpcCodeOf(err) === 5) {
      throw fastify.httpErrors.conflict(`transfer is already ${t.status}; nothing is open to act on`);
    }
    // FAILED_PRECONDITION "Workflow Task in failed state": the workflow is between a failed
    // workflow task and its retry (a worker died holding it); nothing was recorded. The
    // action goes through once the task is retried, a few seconds later.
    if (grpcCodeOf(err) === 9) {
      fastify.log.warn({ err }, 'workflow task is being retried; action refused for now');
      throw Object.assign(fastify.httpErrors.serviceUnavailable('this transfer is recovering from a worker restart; nothing was recorded: try again in a few seconds'), {
        code: 'WORKFLOW_RECOVERING',
      });
    }
    throw err;
  }
}
