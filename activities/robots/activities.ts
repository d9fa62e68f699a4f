// Activities of the robot delivery workflow (workflows/robot.ts): send one message (one
// event, or a digest of many) to one robot, and list what waits for a robot.
//
// Idempotency. A delivery (event × robot) is claimed PENDING → SENDING under the message
// id the workflow chose before the HTTP request, and becomes SENT (or PENDING again, or
// FAILED) after it, so:
// - an event is never sent twice on purpose: only PENDING rows are claimed, and a retried
//   activity whose message was already sent finds its rows SENT and sends nothing;
// - a retry that finds its own rows still SENDING and recent waits (the earlier attempt
//   may still be talking to the vendor); older ones mean that attempt died mid-request,
//   and the message is sent again (the only case, with a request that timed out, where the
//   vendor may see an event twice: the issue asks to retry timeouts, so we prefer that to
//   losing the event; the message id in every message's footer makes a repeat visible).
// HTTP outcomes are returned, never thrown: the workflow decides when to try again
// (rate-limit pauses, exponential back-off); Temporal only retries on infrastructure
// errors (database down, worker lost).
import { ApplicationFailure } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Prisma, PrismaClient } from '../../prisma/client';
import { fitMessage, renderMessage, type Language, type RenderContext, type RenderItem, type TransferInfo } from './render';
import { classifyResponse, requestUrl, type RobotKind, type SendOutcome } from './vendor';

export interface RobotActivityOptions {
  prisma: PrismaClient;
  logger?: Logger;
  /** PUBLIC_URL: base of the inbox links in messages. */
  publicUrl: string;
  /** How long to wait for a vendor's answer (default 10 s). */
  httpTimeoutMs?: number;
  /** A SENDING claim younger than this may belong to an attempt still running (default timeout + 15 s; the activity's start-to-close is 30 s). */
  inFlightMs?: number;
  /** For tests: the fetch to use. */
  fetch?: typeof fetch;
}

export interface SendMessageInput {
  channelId: string;
  /** Chosen by the workflow: the same on every retry of this activity. */
  messageId: string;
  /** Deliveries to carry, oldest first; those that do not fit come back in `requeue`. */
  deliveryIds: string[];
}

export interface SendMessageResult {
  /**
   * sent: the message went out (`sent` lists what it carried); rateLimited: the vendor
   * refused for speed (pause `waitMs`); retryable: 5xx, timeout, network (back off);
   * permanent: refused for good (deliveries FAILED, HQ told); gone: the channel was
   * deleted or deactivated (its deliveries FAILED); nothing: nothing left to send.
   */
  outcome: 'sent' | 'rateLimited' | 'retryable' | 'permanent' | 'gone' | 'nothing';
  sent: string[];
  /** Still PENDING: to send later, before anything newer. */
  requeue: string[];
  /** Did a request go to the vendor (it counts against the robot's budget)? */
  requested: boolean;
  /** Deliveries marked FAILED by this call. */
  failed: number;
  /** permanent: 'channel' = the robot is unusable (everything pending for it failed too). */
  scope?: 'channel' | 'message';
  waitMs?: number;
  error?: string;
}

/** Event kinds whose messages @-mention the people who must act now. */
const MENTION_KINDS = new Set(['ESCALATED', 'ARBITRATION_OVERDUE']);
const ENTITY_KINDS = new Set(['PAYMENTS_FROZEN', 'PAYMENTS_UNFROZEN']);

const uniq = <T>(xs: T[]) => [...new Set(xs)];

export function createRobotActivities(opts: RobotActivityOptions) {
  const { prisma, logger } = opts;
  const timeoutMs = opts.httpTimeoutMs ?? 10_000;
  const inFlightMs = opts.inFlightMs ?? timeoutMs + 15_000;
  const doFetch = opts.fetch ?? fetch;

  /** PENDING deliveries of a robot, oldest first (the workflow's recovery after a crash or a retry by HQ). */
  async function listPendingDeliveries(input: { channelId: string; limit?: number }): Promise<string[]> {
    const rows = await prisma.delivery.findMany({
      where: { channelId: input.channelId, status: 'PENDING' },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: input.limit ?? 5_000,
      select: { id: true },
    });
    return rows.map((r) => r.id);
  }

  async function sendRobotMessage(input: SendMessageInput): Promise<SendMessageResult> {
    const { channelId, messageId } = input;
    const ids = uniq(input.deliveryIds);
    const none: SendMessageResult = { outcome: 'nothing', sent: [], requeue: [], requested: false, failed: 0 };
    const rows = await prisma.delivery.findMany({
      where: { id: { in: ids }, channelId },
      select: { id: true, status: true, messageId: true, updatedAt: true, lastError: true },
    });
    const byId = new Map(rows.map((r) => [r.id, r]));
    const pendingOthers = () => ids.filter((id) => byId.get(id)?.status === 'PENDING');

    // A retry of an attempt that got as far as the vendor's answer: same answer, no request.
    const mine = rows.filter((r) => r.messageId === messageId);
    if (mine.some((r) => r.status === 'SENT')) {
      return { ...none, outcome: 'sent', sent: ids.filter((id) => byId.get(id)?.status === 'SENT' && byId.get(id)?.messageId === messageId), requeue: pendingOthers(), requested: true };
    }
    if (mine.some((r) => r.status === 'FAILED')) {
      return { ...none, outcome: 'permanent', scope: 'message', requeue: pendingOthers(), requested: true, error: mine.find((r) => r.status === 'FAILED')?.lastError ?? 'failed' };
    }
    const now = Date.now();
    if (mine.some((r) => r.status === 'SENDING' && now - r.updatedAt.getTime() < inFlightMs)) {
      throw ApplicationFailure.retryable('an earlier attempt of this message may still be waiting for the robot', 'MessageInFlight');
    }

    const channel = await prisma.channel.findUnique({ where: { id: channelId } });
    const candidates = ids.filter((id) => {
      const r = byId.get(id);
      return r && (r.status === 'PENDING' || (r.status === 'SENDING' && r.messageId === messageId));
    });
    if (!channel || channel.deletedAt || !channel.active) {
      const reason = !channel || channel.deletedAt ? 'robot removed' : 'robot deactivated';
      const r = await prisma.delivery.updateMany({
        where: { channelId, OR: [{ status: 'PENDING' }, { status: 'SENDING', messageId }] },
        data: { status: 'FAILED', lastError: reason },
      });
      logger?.info({ channelId, failed: r.count, reason }, 'robot gone: its pending deliveries failed');
      return { ...none, outcome: 'gone', failed: r.count, error: reason };
    }
    if (candidates.length === 0) return none;

    const kind = channel.kind as RobotKind;
    const items = await loadItems(candidates, channel.groupId);
    const group = await prisma.group.findUnique({ where: { id: channel.groupId }, select: { timezone: true } });
    const ctx: RenderContext = {
      vendor: kind,
      language: channel.language as Language,
      keywords: kind === 'DINGTALK' ? channel.keywords : [],
      baseUrl: opts.publicUrl,
      now,
      timezone: group?.timezone ?? 'Asia/Shanghai',
      messageId,
    };
    let { message, count } = fitMessage(items, ctx);
    const chosen = candidates.slice(0, count);
    const claimed = new Set(
      (
        await prisma.delivery.updateManyAndReturn({
          where: { id: { in: chosen }, channelId, OR: [{ status: 'PENDING' }, { status: 'SENDING', messageId }] },
          data: { status: 'SENDING', messageId, attempts: { increment: 1 } },
          select: { id: true },
        })
      ).map((r) => r.id),
    );
    const carried = chosen.filter((id) => claimed.has(id));
    const leftover = candidates.slice(count).filter((id) => byId.get(id)?.status === 'PENDING');
    if (carried.length === 0) return { ...none, requeue: leftover };
    if (carried.length < chosen.length) message = renderMessage(items.filter((i) => claimed.has(i.deliveryId)), ctx);

    // The request. Not aborted on worker shutdown: a started request is let finish, so
    // its outcome is recorded (a graceful restart neither loses nor repeats a message).
    const sendAt = Date.now();
    let outcome: SendOutcome;
    try {
      const res = await doFetch(requestUrl({ kind, webhookUrl: channel.webhookUrl, secret: channel.secret }, sendAt), {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(message.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      outcome = classifyResponse(kind, res.status, await res.text(), res.headers.get('retry-after'));
    } catch (err) {
      outcome = { kind: 'retryable', reason: networkError(err, timeoutMs) };
    }
    logger?.info({ channelId, messageId, items: carried.length, outcome: outcome.kind, ...(outcome.kind !== 'ok' ? { reason: outcome.reason } : {}) }, 'robot message');

    const result = await recordOutcome(channel, messageId, carried, outcome);
    return { ...result, requeue: outcome.kind === 'rateLimited' || outcome.kind === 'retryable' ? [...carried, ...leftover] : leftover };
  }

  async function recordOutcome(
    channel: { id: string; groupId: string; entityId: string; name: string; kind: string },
    messageId: string,
    carried: string[],
    outcome: SendOutcome,
  ): Promise<Omit<SendMessageResult, 'requeue'>> {
    const mine = { id: { in: carried }, status: 'SENDING' as const, messageId };
    return withDbRetry(async () => {
      if (outcome.kind === 'ok') {
        await prisma.delivery.updateMany({ where: mine, data: { status: 'SENT', sentAt: new Date(), lastError: null } });
        return { outcome: 'sent', sent: carried, requested: true, failed: 0 };
      }
      if (outcome.kind === 'rateLimited' || outcome.kind === 'retryable') {
        await prisma.delivery.updateMany({ where: mine, data: { status: 'PENDING', messageId: null, lastError: outcome.reason } });
        return { outcome: outcome.kind, sent: [], requested: true, failed: 0, error: outcome.reason, ...(outcome.kind === 'rateLimited' ? { waitMs: outcome.waitMs } : {}) };
      }
      // Permanent: this message's deliveries fail; if the robot itself is unusable, so does
      // everything waiting for it. HQ is told through its own channel, once per robot and hour.
      const failed = await prisma.$transaction(async (tx) => {
        const a = await tx.delivery.updateManyAndReturn({ where: mine, data: { status: 'FAILED', lastError: outcome.reason }, select: { id: true, eventId: true } });
        const b =
          outcome.scope === 'channel'
            ? await tx.delivery.updateManyAndReturn({
                where: { channelId: channel.id, status: 'PENDING' },
                data: { status: 'FAILED', lastError: `not sent: the robot refused an earlier message (${outcome.reason})` },
                select: { id: true, eventId: true },
              })
            : [];
        const all = [...a, ...b];
        await tellHq(tx, channel, outcome.reason, all.map((d) => d.eventId));
        return all.length;
      });
      return { outcome: 'permanent', sent: [], requested: true, failed, scope: outcome.scope, error: outcome.reason };
    });
  }

  async function tellHq(tx: Prisma.TransactionClient, channel: { id: string; groupId: string; entityId: string; name: string; kind: string }, reason: string, eventIds: string[]) {
    if (eventIds.length === 0) return;
    // A failure to deliver failure notices raises no further notice (no loops).
    const kinds = await tx.notificationEvent.findMany({ where: { id: { in: eventIds } }, select: { kind: true }, distinct: ['kind'] });
    if (kinds.every((k) => k.kind === 'ROBOT_FAILED')) return;
    const hq = await tx.entity.findFirst({ where: { groupId: channel.groupId, kind: 'HQ' }, select: { id: true } });
    if (!hq) return;
    const entity = await tx.entity.findUnique({ where: { id: channel.entityId }, select: { code: true } });
    const hour = new Date().toISOString().slice(0, 13);
    await tx.notificationEvent.createMany({
      data: [
        {
          key: `robot-failed:${channel.id}:${hour}`,
          kind: 'ROBOT_FAILED',
          entityId: hq.id,
          transferId: null,
          recipients: [],
          payload: { channelId: channel.id, channelName: channel.name, robotKind: channel.kind, entityId: channel.entityId, entityCode: entity?.code ?? null, reason, failedEvents: eventIds.length },
        },
      ],
      skipDuplicates: true,
    });
  }

  /** What the renderer needs, in the order of `deliveryIds`. */
  async function loadItems(deliveryIds: string[], groupId: string): Promise<Array<RenderItem & { deliveryId: string }>> {
    const deliveries = await prisma.delivery.findMany({ where: { id: { in: deliveryIds } }, include: { event: true } });
    const byId = new Map(deliveries.map((d) => [d.id, d]));
    const transferIds = uniq(deliveries.flatMap((d) => (d.event.transferId ? [d.event.transferId] : [])));
    const transfers = await prisma.transfer.findMany({
      where: { id: { in: transferIds } },
      select: {
        id: true,
        externalRef: true,
        type: true,
        amount: true,
        currency: true,
        period: true,
        dueAt: true,
        status: true,
        senderEntity: { select: { code: true, name: true } },
        receiverEntity: { select: { code: true, name: true } },
      },
    });
    const transferById = new Map<string, TransferInfo>(
      transfers.map((t) => [
        t.id,
        {
          id: t.id,
          ref: t.externalRef,
          type: t.type,
          sender: t.senderEntity,
          receiver: t.receiverEntity,
          amount: t.amount.toFixed(2),
          currency: t.currency,
          period: t.period,
          dueAt: t.dueAt.toISOString(),
          status: t.status,
        },
      ]),
    );
    const entityOf = (d: (typeof deliveries)[number]) => {
      const p = d.event.payload as Record<string, unknown>;
      return ENTITY_KINDS.has(d.event.kind) ? (typeof p.entityId === 'string' ? p.entityId : d.event.entityId) : null;
    };
    const entityIds = uniq(deliveries.flatMap((d) => entityOf(d) ?? []));
    const entities = new Map(
      (await prisma.entity.findMany({ where: { id: { in: entityIds } }, select: { id: true, code: true, name: true } })).map((e) => [e.id, { code: e.code, name: e.name }]),
    );
    const out: Array<RenderItem & { deliveryId: string }> = [];
    for (const id of deliveryIds) {
      const d = byId.get(id);
      if (!d) continue;
      const e = entityOf(d);
      out.push({
        deliveryId: id,
        eventId: d.event.id,
        kind: d.event.kind,
        transfer: d.event.transferId ? transferById.get(d.event.transferId) ?? null : null,
        entity: e ? entities.get(e) ?? null : null,
        payload: (d.event.payload ?? {}) as Record<string, unknown>,
        mobiles: await mobilesFor(d.event, groupId),
      });
    }
    return out;
  }

  /** Mobiles of the people an escalation is for (recipients, then the candidate group). */
  async function mobilesFor(event: { kind: string; recipients: string[]; payload: unknown }, groupId: string): Promise<string[]> {
    if (!MENTION_KINDS.has(event.kind)) return [];
    const p = (event.payload ?? {}) as { candidates?: Array<{ entityId?: string | null; role?: string | null }> };
    const or: Prisma.UserWhereInput[] = [];
    if (event.recipients.length) or.push({ id: { in: event.recipients } });
    for (const c of p.candidates ?? []) {
      if (c.role === 'HQ_FINANCE' || c.role === 'ADMIN') or.push({ groupRole: c.role, memberships: { some: { entity: { groupId } } } });
      else if (c.entityId && (c.role === 'ACCOUNTANT' || c.role === 'SUPERVISOR')) or.push({ memberships: { some: { entityId: c.entityId, role: c.role } } });
    }
    if (or.length === 0) return [];
    const users = await prisma.user.findMany({ where: { active: true, mobile: { not: null }, OR: or }, select: { mobile: true }, orderBy: { username: 'asc' }, take: 20 });
    return uniq(users.map((u) => (u.mobile ?? '').replace(/[\s-]/g, '')).filter((m) => /^\+?\d{6,15}$/.test(m)));
  }

  return { sendRobotMessage, listPendingDeliveries };
}

export type RobotActivities = ReturnType<typeof createRobotActivities>;

/** A network failure, described without the URL (it holds the robot's token). */
function networkError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs} ms (the robot may have received it)`;
  const code = e?.cause?.code;
  return `network error${code ? ` ${code}` : ''}: ${(e?.cause?.message ?? e?.message ?? String(err)).replace(/https?:\/\/\S+/g, '<url>').slice(0, 200)}`;
}

/** The outcome of a request that happened must be recorded: a few quick tries before giving up. */
async function withDbRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= 4) throw err;
      await new Promise((r) => setTimeout(r, 200 * 2 ** i));
    }
  }
}
