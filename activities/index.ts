// Activities of the transfer workflow. Built by createActivities({ prisma, logger }).
// Each one is idempotent (Temporal retries it): `persist` writes a state change, its
// tasks, its audit row and its notification events in one transaction keyed by the
// workflow's step key, so a retry finds the step already written and does nothing.
import { ApplicationFailure } from '@temporalio/activity';
import type { Logger } from 'pino';
import { Prisma, type PrismaClient } from '../prisma/client';
import { durationMs } from '../workflows/matching';
import { createPeriodActivities } from './periods';
import type {
  Actor,
  Difference,
  DocumentFigures,
  EntityRole,
  GroupRole,
  ReceiptDocument,
  RoutingLevel,
  RoutingMode,
  TaskKind,
  TaskStatus,
  TransferPlan,
  TransferStatus,
} from '../workflows/types';

export interface NewTask {
  id: string;
  key: string;
  transferId: string;
  kind: TaskKind;
  level: number;
  escalationLevel: number;
  dueAt: number;
  assigneeId?: string | null;
  candidateEntityId?: string | null;
  candidateRole?: EntityRole | null;
  candidateGroupRole?: GroupRole | null;
  onBehalfOf?: string | null;
}

export interface TaskPatch {
  id: string;
  status?: TaskStatus;
  outcome?: string | null;
  actedById?: string | null;
  actedAt?: number | null;
  assigneeId?: string | null;
  delegatedToId?: string | null;
  candidateEntityId?: string | null;
  candidateRole?: EntityRole | null;
  candidateGroupRole?: GroupRole | null;
  comment?: string;
}

export interface PersistStep {
  /** Unique per workflow step: the idempotency key of the whole step. */
  key: string;
  transferId: string;
  workflowId: string;
  entityIds: string[];
  transfer?: {
    status?: TransferStatus;
    level?: number;
    escalationLevel?: number;
    dueAt?: number;
    receipt?: ReceiptDocument | (DocumentFigures & { receiptRef: null });
    differences?: Difference[];
    disputeReason?: string;
    disputeText?: string;
    proposal?: Partial<DocumentFigures> | null;
    rejectReason?: string;
    /** HQ arbitration: decision, rationale and binding figures. */
    resolution?: { decision: 'UPHOLD_SENDER' | 'UPHOLD_RECEIVER' | 'ADJUST'; rationale: string; figures: DocumentFigures; byId: string };
    /** The sender's corrected figures. */
    sender?: DocumentFigures;
    /** Moved to another accounting period (roll-forward). */
    period?: string;
    closed?: boolean;
  };
  createTasks?: NewTask[];
  updateTasks?: TaskPatch[];
  audit: {
    action: string;
    actor: Actor | null;
    objectType: string;
    objectId: string;
    before?: unknown;
    after?: unknown;
    reason?: string | null;
  };
  notifications?: Array<{ kind: string; entityId: string | null; recipients: string[]; payload: Record<string, unknown> }>;
  /**
   * The step applies only while this accounting period of the sender's group is open: checked
   * in the step's own transaction, so a freeze committed before it is always seen (the
   * workflow's second guard, behind the API's; HQ finance's steps carry none).
   */
  openPeriod?: string;
}

/** What `persist` did: written (now or by an earlier attempt), or refused because the period is frozen. */
export type PersistResult = { applied: true } | { applied: false; frozenPeriod: string };

class PeriodFrozen extends Error {
  constructor(readonly period: string) {
    super(`period ${period} is frozen`);
  }
}

export interface ActivityDeps {
  prisma: PrismaClient;
  logger?: Logger;
}

const json = (v: unknown) => (v === undefined || v === null ? Prisma.JsonNull : (v as Prisma.InputJsonValue));
const dec = (v: Prisma.Decimal | null) => (v === null ? null : v.toString());
const day = (d: Date) => d.toISOString().slice(0, 10);

export function createActivities({ prisma, logger }: ActivityDeps) {
  /** Resolves deadlines, tolerances and the approval policy once, and freezes the policy on the transfer. */
  async function loadPlan(transferId: string): Promise<TransferPlan> {
    const t = await prisma.transfer.findUnique({
      where: { id: transferId },
      include: { receiverEntity: { include: { group: true } } },
    });
    if (!t) throw ApplicationFailure.nonRetryable(`transfer ${transferId} does not exist`, 'NotFound');
    const group = t.receiverEntity.group;
    const hq = await prisma.entity.findFirst({ where: { groupId: group.id, kind: 'HQ' }, select: { id: true } });
    let policy = t.policy as TransferPlan['policy'] | null;
    if (!policy) {
      policy = await resolvePolicy(t.receiverEntityId, t.type, t.amount, t.createdAt);
      await prisma.transfer.update({ where: { id: t.id }, data: { policy: policy as unknown as Prisma.InputJsonValue } });
    }
    return {
      transferId: t.id,
      workflowId: t.workflowId,
      senderEntityId: t.senderEntityId,
      receiverEntityId: t.receiverEntityId,
      hqEntityId: hq?.id ?? null,
      createdById: t.createdById,
      period: t.period,
      sender: { quantity: dec(t.quantity), unitPrice: dec(t.unitPrice), amount: t.amount.toString(), date: day(t.documentDate) },
      confirmWithinMs: durationMs(t.receiverEntity.confirmWithin ?? group.confirmWithin),
      remindBeforeMs: durationMs(group.remindBefore),
      escalationWithinMs: durationMs(group.escalationWithin),
      arbitrationWithinMs: durationMs(group.arbitrationWithin),
      tolerance: {
        quantity: group.quantityTolerance.toString(),
        amount: group.amountTolerance.toString(),
        unitPricePct: group.priceTolerancePct.toString(),
        dateWindowDays: group.dateWindowDays,
      },
      policy,
    };
  }

  async function resolvePolicy(entityId: string, type: string, amount: Prisma.Decimal, at: Date): Promise<TransferPlan['policy']> {
    const candidates = await prisma.approvalPolicy.findMany({
      where: { entityId, active: true },
      orderBy: [{ priority: 'desc' }, { createdAt: 'asc' }],
    });
    const fits = candidates.filter(
      (p) =>
        (p.transferType === null || p.transferType === type) &&
        (p.minAmount === null || amount.greaterThanOrEqualTo(p.minAmount)) &&
        (p.maxAmount === null || amount.lessThan(p.maxAmount)),
    );
    // Most specific first: a type-narrowed policy beats a general one at equal priority.
    fits.sort((a, b) => b.priority - a.priority || Number(b.transferType !== null) - Number(a.transferType !== null));
    const p = fits[0];
    if (!p) {
      return { id: null, name: 'default: any accountant of the receiver', mode: 'SINGLE', levels: [{ candidateEntityId: entityId, candidateRole: 'ACCOUNTANT' }] };
    }
    const levels: RoutingLevel[] = [];
    for (const raw of p.levels as Array<{ role?: EntityRole; users?: string[] }>) {
      if (raw.users && raw.users.length > 0) {
        const users = await prisma.user.findMany({ where: { username: { in: raw.users }, active: true }, select: { id: true, username: true } });
        const byName = new Map(users.map((u) => [u.username, u.id]));
        const approvers: NonNullable<RoutingLevel['approvers']> = [];
        for (const name of raw.users) {
          const id = byName.get(name);
          if (!id) continue;
          const away = await prisma.outOfOffice.findFirst({ where: { userId: id, from: { lte: at }, until: { gt: at } }, orderBy: { createdAt: 'desc' } });
          approvers.push(away ? { userId: away.delegateId, onBehalfOf: id } : { userId: id });
        }
        if (approvers.length > 0) {
          levels.push({ approvers });
          continue;
        }
      }
      levels.push({ candidateEntityId: entityId, candidateRole: raw.role ?? 'ACCOUNTANT' });
    }
    if (levels.length === 0) levels.push({ candidateEntityId: entityId, candidateRole: 'ACCOUNTANT' });
    return { id: p.id, name: p.name, mode: p.mode as RoutingMode, levels };
  }

  /**
   * A transfer that is no longer pending is no longer an offending item of a payment
   * freeze; an entity whose last item goes is unfrozen (audited, HQ and the entity told).
   */
  async function releasePaymentFreezes(tx: Prisma.TransactionClient, step: PersistStep): Promise<void> {
    const items = await tx.paymentFreezeItem.findMany({ where: { transferId: step.transferId } });
    if (items.length === 0) return;
    await tx.paymentFreezeItem.deleteMany({ where: { transferId: step.transferId } });
    for (const { entityId } of items) {
      if ((await tx.paymentFreezeItem.count({ where: { entityId } })) > 0) continue;
      const freeze = await tx.paymentFreeze.delete({ where: { entityId } });
      await tx.auditEvent.create({
        data: {
          key: `${step.key}:unfreeze:${entityId}`,
          actorName: 'system',
          action: 'PAYMENTS_UNFROZEN',
          objectType: 'entity',
          objectId: entityId,
          transferId: step.transferId,
          entityIds: [entityId],
          before: { paymentsFrozen: true, since: freeze.since.toISOString(), cycle: freeze.cycle },
          after: { paymentsFrozen: false },
          reason: 'the last overdue transfer is no longer pending',
          workflowId: step.workflowId,
        },
      });
      const hq = await hqEntityOf(tx, entityId);
      await tx.notificationEvent.createMany({
        data: [entityId, ...(hq ? [hq] : [])].map((e, i) => ({
          key: `${step.key}:unfreeze:${entityId}:n${i}`,
          kind: 'PAYMENTS_UNFROZEN',
          entityId: e,
          recipients: [],
          payload: { entityId },
        })),
        skipDuplicates: true,
      });
    }
  }

  async function hqEntityOf(tx: Prisma.TransactionClient, entityId: string): Promise<string | null> {
    const e = await tx.entity.findUnique({ where: { id: entityId }, select: { groupId: true } });
    if (!e) return null;
    return (await tx.entity.findFirst({ where: { groupId: e.groupId, kind: 'HQ' }, select: { id: true } }))?.id ?? null;
  }

  /** Is the transfer's period frozen? Only workflows started before patch period-guard-in-persist still ask (their guard ran apart from the write). */
  async function checkPeriodOpen(input: { transferId: string; period: string }): Promise<{ frozen: boolean; period: string }> {
    const t = await prisma.transfer.findUniqueOrThrow({ where: { id: input.transferId }, select: { senderEntity: { select: { groupId: true } } } });
    const p = await prisma.period.findUnique({ where: { groupId_period: { groupId: t.senderEntity.groupId, period: input.period } } });
    return { frozen: p?.status === 'FROZEN', period: input.period };
  }

  async function persist(step: PersistStep): Promise<PersistResult> {
    try {
      await persistInTransaction(step);
    } catch (err) {
      if (err instanceof PeriodFrozen) return { applied: false, frozenPeriod: err.period };
      throw err;
    }
    return { applied: true };
  }

  async function persistInTransaction(step: PersistStep): Promise<void> {
    await prisma.$transaction(async (tx) => {
      const audit = await tx.auditEvent.createMany({
        data: [
          {
            key: step.key,
            actorId: step.audit.actor?.userId ?? null,
            actorName: step.audit.actor?.name ?? 'system',
            actorIp: step.audit.actor?.ip ?? null,
            requestId: step.audit.actor?.requestId ?? null,
            action: step.audit.action,
            objectType: step.audit.objectType,
            objectId: step.audit.objectId,
            transferId: step.transferId,
            entityIds: step.entityIds,
            before: json(step.audit.before),
            after: json(step.audit.after),
            reason: step.audit.reason ?? null,
            workflowId: step.workflowId,
          },
        ],
        skipDuplicates: true,
      });
      if (audit.count === 0) {
        logger?.debug({ key: step.key }, 'step already persisted (activity retry)');
        return;
      }
      if (step.openPeriod !== undefined) {
        // After the idempotency check: a retry of a step that did commit is not refused by a
        // freeze that came later. FOR SHARE waits for a freeze in progress on the same row.
        const [p] = await tx.$queryRaw<Array<{ status: string }>>`
          SELECT p.status::text AS status FROM "Transfer" t
          JOIN "Entity" e ON e.id = t."senderEntityId"
          JOIN "Period" p ON p."groupId" = e."groupId" AND p.period = ${step.openPeriod}
          WHERE t.id = ${step.transferId}::uuid
          FOR SHARE OF p`;
        if (p?.status === 'FROZEN') throw new PeriodFrozen(step.openPeriod); // rolls the audit row back too
      }
      const t = step.transfer;
      if (t && Object.keys(t).length > 0) {
        const r = t.receipt;
        await tx.transfer.update({
          where: { id: step.transferId },
          data: {
            status: t.status,
            level: t.level,
            escalationLevel: t.escalationLevel,
            dueAt: t.dueAt === undefined ? undefined : new Date(t.dueAt),
            ...(r
              ? {
                  receiptRef: r.receiptRef,
                  receiptQuantity: r.quantity,
                  receiptUnitPrice: r.unitPrice,
                  receiptAmount: r.amount,
                  receiptDate: new Date(`${r.date}T00:00:00Z`),
                }
              : {}),
            differences: t.differences === undefined ? undefined : json(t.differences),
            disputeReason: t.disputeReason,
            disputeText: t.disputeText,
            disputeProposal: t.proposal === undefined ? undefined : json(t.proposal),
            rejectReason: t.rejectReason,
            period: t.period,
            ...(t.sender
              ? {
                  quantity: t.sender.quantity,
                  unitPrice: t.sender.unitPrice,
                  amount: t.sender.amount,
                  documentDate: new Date(`${t.sender.date}T00:00:00Z`),
                }
              : {}),
            ...(t.resolution
              ? {
                  resolution: t.resolution.decision,
                  resolutionNote: t.resolution.rationale,
                  resolvedQuantity: t.resolution.figures.quantity,
                  resolvedUnitPrice: t.resolution.figures.unitPrice,
                  resolvedAmount: t.resolution.figures.amount,
                  resolvedDate: new Date(`${t.resolution.figures.date}T00:00:00Z`),
                  resolvedById: t.resolution.byId,
                }
              : {}),
            closedAt: t.closed ? new Date() : undefined,
          },
        });
        if (t.status && t.status !== 'PENDING') await releasePaymentFreezes(tx, step);
      }
      if (step.createTasks?.length) {
        await tx.task.createMany({
          data: step.createTasks.map((n) => ({
            id: n.id,
            key: n.key,
            transferId: n.transferId,
            kind: n.kind,
            level: n.level,
            escalationLevel: n.escalationLevel,
            dueAt: new Date(n.dueAt),
            assigneeId: n.assigneeId ?? null,
            candidateEntityId: n.candidateEntityId ?? null,
            candidateRole: n.candidateRole ?? null,
            candidateGroupRole: n.candidateGroupRole ?? null,
            onBehalfOfId: n.onBehalfOf ?? null,
          })),
          skipDuplicates: true,
        });
      }
      for (const p of step.updateTasks ?? []) {
        const { id, actedAt, ...rest } = p;
        await tx.task.update({
          where: { id },
          data: { ...rest, ...(actedAt === undefined ? {} : { actedAt: actedAt === null ? null : new Date(actedAt) }) },
        });
      }
      if (step.notifications?.length) {
        await tx.notificationEvent.createMany({
          data: step.notifications.map((n, i) => ({
            key: `${step.key}:n${i}`,
            kind: n.kind,
            transferId: step.transferId,
            entityId: n.entityId,
            recipients: n.recipients,
            payload: n.payload as Prisma.InputJsonValue,
          })),
          skipDuplicates: true,
        });
      }
      // Live updates for the web inbox (api/routes/events.ts): delivered only if this commits.
      const live = JSON.stringify({ type: step.createTasks?.length || step.updateTasks?.length ? 'task' : 'transfer', transferId: step.transferId });
      await tx.$executeRaw`SELECT pg_notify('ic_events', ${live})`;
    });
  }

  return { loadPlan, persist, checkPeriodOpen, ...createPeriodActivities({ prisma, logger }) };
}

export type Activities = ReturnType<typeof createActivities>;
