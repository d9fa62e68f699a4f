// Activities of the period freeze and cycle close workflows. Idempotent: each writes
// its audit rows under keys derived from the workflow, so a retry changes nothing.
import type { Logger } from 'pino';
import type { Actor } from '../workflows/types';
import type { Prisma, PrismaClient } from '../prisma/client';

export interface FreezeInput {
  key: string;
  groupId: string;
  period: string;
  choice: 'ESCALATE' | 'ROLL_FORWARD' | null;
  reason: string | null;
  actor: Actor | null;
}

/** The month after YYYY-MM. */
export function nextPeriod(period: string): string {
  const [y, m] = period.split('-').map(Number);
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

export function createPeriodActivities({ prisma, logger }: { prisma: PrismaClient; logger?: Logger }) {
  async function openTransfers(tx: Prisma.TransactionClient | PrismaClient, groupId: string, period: string) {
    return tx.transfer.findMany({
      where: { period, status: { in: ['PENDING', 'DISPUTED'] }, senderEntity: { groupId } },
      select: { id: true, workflowId: true, status: true },
      orderBy: { createdAt: 'asc' },
    });
  }

  /** Freezes the period (first step of the freeze workflow) and says where open transfers go. */
  async function freezePeriod(input: FreezeInput): Promise<{ choice: 'ESCALATE' | 'ROLL_FORWARD'; toPeriod: string | null; open: number }> {
    return prisma.$transaction(async (tx) => {
      const open = await openTransfers(tx, input.groupId, input.period);
      // Nothing is dropped silently: open items with no stated choice go to HQ.
      const choice = input.choice ?? 'ESCALATE';
      let toPeriod: string | null = null;
      if (choice === 'ROLL_FORWARD') {
        toPeriod = nextPeriod(input.period);
        for (;;) {
          const p = await tx.period.findUnique({ where: { groupId_period: { groupId: input.groupId, period: toPeriod } } });
          if (p?.status !== 'FROZEN') break;
          toPeriod = nextPeriod(toPeriod);
        }
      }
      const before = await tx.period.findUnique({ where: { groupId_period: { groupId: input.groupId, period: input.period } } });
      const written = await tx.auditEvent.createMany({
        data: [
          {
            key: `${input.key}:frozen`,
            actorId: input.actor?.userId ?? null,
            actorName: input.actor?.name ?? 'system',
            actorIp: input.actor?.ip ?? null,
            requestId: input.actor?.requestId ?? null,
            action: 'PERIOD_FROZEN',
            objectType: 'period',
            objectId: input.period,
            entityIds: [],
            before: { status: before?.status ?? 'OPEN' },
            after: { status: 'FROZEN', choice, toPeriod, openTransfers: open.length },
            reason: input.reason,
            workflowId: input.key,
          },
        ],
        skipDuplicates: true,
      });
      if (written.count > 0) {
        await tx.period.upsert({
          where: { groupId_period: { groupId: input.groupId, period: input.period } },
          create: { groupId: input.groupId, period: input.period, status: 'FROZEN', choice, changedBy: input.actor?.userId ?? null, reason: input.reason },
          update: { status: 'FROZEN', choice, changedAt: new Date(), changedBy: input.actor?.userId ?? null, reason: input.reason },
        });
      }
      return { choice, toPeriod, open: open.length };
    });
  }

  async function listOpenTransfers(input: { groupId: string; period: string }): Promise<Array<{ transferId: string; workflowId: string }>> {
    return (await openTransfers(prisma, input.groupId, input.period)).map((t) => ({ transferId: t.id, workflowId: t.workflowId }));
  }

  /**
   * Cycle close: every entity that let transfers run past their deadline unconfirmed
   * gets its payment requests frozen, with the list of offending transfers.
   */
  async function closeCycle(input: { groupId: string; at: string }): Promise<{ frozen: Array<{ entityId: string; code: string; transfers: number }> }> {
    const at = new Date(input.at);
    const offending = await prisma.transfer.findMany({
      where: { status: 'PENDING', senderEntity: { groupId: input.groupId }, OR: [{ dueAt: { lt: at } }, { escalationLevel: { gt: 0 } }] },
      select: { id: true, receiverEntityId: true, receiverEntity: { select: { code: true } } },
    });
    const byEntity = new Map<string, { code: string; ids: string[] }>();
    for (const t of offending) {
      const e = byEntity.get(t.receiverEntityId) ?? { code: t.receiverEntity.code, ids: [] };
      e.ids.push(t.id);
      byEntity.set(t.receiverEntityId, e);
    }
    const hq = await prisma.entity.findFirst({ where: { groupId: input.groupId, kind: 'HQ' }, select: { id: true } });
    const frozen: Array<{ entityId: string; code: string; transfers: number }> = [];
    for (const [entityId, { code, ids }] of byEntity) {
      await prisma.$transaction(async (tx) => {
        const key = `cycle:${input.groupId}:${input.at}:${entityId}`;
        const audit = await tx.auditEvent.createMany({
          data: [
            {
              key,
              actorName: 'system',
              action: 'PAYMENTS_FROZEN',
              objectType: 'entity',
              objectId: entityId,
              entityIds: [entityId],
              after: { paymentsFrozen: true, cycle: input.at, transfers: ids },
              reason: `${ids.length} transfer(s) past their deadline and unconfirmed at cycle close`,
            },
          ],
          skipDuplicates: true,
        });
        if (audit.count === 0) return;
        await tx.paymentFreeze.upsert({ where: { entityId }, create: { entityId, cycle: input.at }, update: { cycle: input.at } });
        await tx.paymentFreezeItem.createMany({ data: ids.map((transferId) => ({ entityId, transferId })), skipDuplicates: true });
        await tx.notificationEvent.createMany({
          data: [entityId, ...(hq ? [hq.id] : [])].map((e, i) => ({
            key: `${key}:n${i}`,
            kind: 'PAYMENTS_FROZEN',
            entityId: e,
            recipients: [],
            payload: { entityId, code, transfers: ids, cycle: input.at },
          })),
          skipDuplicates: true,
        });
      });
      frozen.push({ entityId, code, transfers: ids.length });
    }
    logger?.info({ groupId: input.groupId, at: input.at, frozen: frozen.length }, 'cycle closed');
    return { frozen };
  }

  return { freezePeriod, listOpenTransfers, closeCycle };
}
