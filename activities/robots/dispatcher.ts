// The robot dispatcher: an outbox poller run by the worker process (activities/worker.ts).
//
// `persist` writes NotificationEvent rows (status PENDING) in the transaction of each
// change. The dispatcher claims a batch of them (FOR UPDATE SKIP LOCKED, so several
// workers share the work without taking the same row), creates one Delivery per event
// and active robot of the event's entity (unique per event and robot: the idempotency
// key), marks the events DISPATCHED in the same transaction, and then signals each
// robot's delivery workflow (signal-with-start) with the new delivery ids.
//
// A crash between the commit and the signal leaves deliveries PENDING with nobody told:
// the sweep pokes the workflow of every robot with PENDING deliveries older than a
// minute (the workflow re-reads them from the database and ignores ids it already
// holds), and puts back deliveries left SENDING by an attempt that died long ago. A robot
// workflow left on a task queue nobody serves any more is restarted on ours.
import type { Logger } from 'pino';
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../../prisma/client';
import { robotEnqueueSignal, robotWorkflowId, type RobotWorkflowInput } from '../../workflows/robot';

export interface DispatchDeps {
  prisma: PrismaClient;
  client: Client;
  taskQueue: string;
  logger?: Logger;
  /** Extra input for robot workflows this dispatcher starts (tests: a small continue-as-new threshold). */
  robotDefaults?: Partial<Omit<RobotWorkflowInput, 'channelId' | 'kind'>>;
}

const MAX_IDS_PER_SIGNAL = 1_000;

/** Tells a robot's delivery workflow about new deliveries, starting it if it is not running. */
export async function signalRobot(
  deps: Pick<DispatchDeps, 'client' | 'taskQueue' | 'robotDefaults'>,
  channel: { id: string; kind: 'WECOM' | 'DINGTALK' },
  payload: { ids?: string[]; refresh?: boolean },
): Promise<void> {
  const ids = payload.ids ?? [];
  const chunks = ids.length > MAX_IDS_PER_SIGNAL ? Array.from({ length: Math.ceil(ids.length / MAX_IDS_PER_SIGNAL) }, (_, i) => ids.slice(i * MAX_IDS_PER_SIGNAL, (i + 1) * MAX_IDS_PER_SIGNAL)) : [ids];
  for (const chunk of chunks) {
    await deps.client.workflow.signalWithStart('robotDeliveryWorkflow', {
      workflowId: robotWorkflowId(channel.id),
      taskQueue: deps.taskQueue,
      args: [{ channelId: channel.id, kind: channel.kind, ...deps.robotDefaults } satisfies RobotWorkflowInput],
      signal: robotEnqueueSignal,
      signalArgs: [{ ...(chunk.length ? { ids: chunk } : {}), ...(payload.refresh ? { refresh: true } : {}) }],
    });
  }
}

/**
 * One pass: claims up to `limit` PENDING events, creates their deliveries, signals the
 * robots. Returns how many events and deliveries it handled; signalling errors are
 * logged and left to the sweep.
 */
export async function dispatchOnce(deps: DispatchDeps, opts: { limit?: number } = {}): Promise<{ events: number; deliveries: number }> {
  const { prisma, logger } = deps;
  const limit = opts.limit ?? 200;
  const { events, created } = await prisma.$transaction(async (tx) => {
    const events = await tx.$queryRaw<Array<{ id: string; entityId: string | null; kind: string; payload: unknown }>>`
      UPDATE "NotificationEvent" SET status = 'DISPATCHED'
      WHERE id IN (
        SELECT id FROM "NotificationEvent" WHERE status = 'PENDING'
        ORDER BY "createdAt", id LIMIT ${limit} FOR UPDATE SKIP LOCKED
      )
      RETURNING id, "entityId", kind, payload`;
    if (events.length === 0) return { events, created: [] };
    const entityIds = [...new Set(events.flatMap((e) => (e.entityId ? [e.entityId] : [])))];
    const channels = entityIds.length
      ? await tx.channel.findMany({ where: { entityId: { in: entityIds }, active: true, deletedAt: null }, select: { id: true, entityId: true, kind: true } })
      : [];
    const data = events.flatMap((e) =>
      channels
        // A robot's failure notice never goes to that robot.
        .filter((c) => c.entityId === e.entityId && !(e.kind === 'ROBOT_FAILED' && (e.payload as { channelId?: string } | null)?.channelId === c.id))
        .map((c) => ({ eventId: e.id, channelId: c.id })),
    );
    // Events come back in no particular order: keep the order they were written in.
    const created = data.length ? await tx.delivery.createManyAndReturn({ data, skipDuplicates: true, select: { id: true, channelId: true, createdAt: true, eventId: true } }) : [];
    return { events, created: created.map((d) => ({ ...d, kind: channels.find((c) => c.id === d.channelId)!.kind })) };
  });
  const byChannel = new Map<string, { kind: 'WECOM' | 'DINGTALK'; ids: string[] }>();
  for (const d of created) {
    const c = byChannel.get(d.channelId) ?? { kind: d.kind, ids: [] };
    c.ids.push(d.id);
    byChannel.set(d.channelId, c);
  }
  await Promise.all(
    [...byChannel].map(async ([id, c]) => {
      try {
        await signalRobot(deps, { id, kind: c.kind }, { ids: c.ids });
      } catch (err) {
        logger?.warn({ channelId: id, err: (err as Error).message }, 'could not signal the robot workflow; the sweep will');
      }
    }),
  );
  if (events.length) logger?.debug({ events: events.length, deliveries: created.length }, 'notifications dispatched');
  return { events: events.length, deliveries: created.length };
}

/**
 * Recovery: pokes robots with PENDING deliveries older than `pendingOlderThanMs` (their
 * workflow re-reads them), after putting back to PENDING deliveries left SENDING longer
 * than `sendingOlderThanMs` (an attempt that died; the workflow has long moved on).
 */
export async function sweepOnce(
  deps: DispatchDeps,
  opts: { pendingOlderThanMs?: number; sendingOlderThanMs?: number; stuckAfterMs?: number } = {},
): Promise<{ robots: number; reset: number }> {
  const { prisma, logger } = deps;
  const now = Date.now();
  const reset = await prisma.delivery.updateMany({
    where: { status: 'SENDING', updatedAt: { lt: new Date(now - (opts.sendingOlderThanMs ?? 10 * 60_000)) } },
    data: { status: 'PENDING', messageId: null, lastError: 'the attempt that was sending it was lost: sent again' },
  });
  const stale = await prisma.delivery.groupBy({
    by: ['channelId'],
    where: { status: 'PENDING', updatedAt: { lt: new Date(now - (opts.pendingOlderThanMs ?? 60_000)) }, channel: { active: true, deletedAt: null } },
  });
  const channels = stale.length ? await prisma.channel.findMany({ where: { id: { in: stale.map((s) => s.channelId) } }, select: { id: true, kind: true } }) : [];
  const stuck = new Set(
    (
      await prisma.delivery.groupBy({
        by: ['channelId'],
        where: { status: 'PENDING', updatedAt: { lt: new Date(now - (opts.stuckAfterMs ?? 5 * 60_000)) }, channelId: { in: channels.map((c) => c.id) } },
      })
    ).map((s) => s.channelId),
  );
  let robots = 0;
  for (const c of channels) {
    try {
      if (stuck.has(c.id)) await rescue(deps, c.id);
      await signalRobot(deps, c, { refresh: true });
      robots++;
    } catch (err) {
      logger?.warn({ channelId: c.id, err: (err as Error).message }, 'could not poke the robot workflow');
    }
  }
  if (reset.count || robots) logger?.info({ robots, reset: reset.count }, 'robot sweep');
  return { robots, reset: reset.count };
}

/**
 * A robot workflow running on a task queue this deployment does not serve (started by a
 * worker configured with another TEMPORAL_TASK_QUEUE that has since gone) would hold its
 * deliveries forever: it is ended, and the signal that follows starts it on ours.
 */
async function rescue(deps: DispatchDeps, channelId: string): Promise<void> {
  const handle = deps.client.workflow.getHandle(robotWorkflowId(channelId));
  const d = await handle.describe().catch(() => null);
  if (d?.status.name === 'RUNNING' && d.taskQueue !== deps.taskQueue) {
    deps.logger?.warn({ channelId, taskQueue: d.taskQueue }, 'robot workflow on a task queue nobody here serves: restarting it on ours');
    await handle.terminate(`task queue ${d.taskQueue} is not served; restarted on ${deps.taskQueue}`).catch(() => undefined);
  }
}

export interface DispatcherHandle {
  stop(): Promise<void>;
}

/** The poller: dispatches every `intervalMs` (at once again while batches are full), sweeps every `sweepMs`. */
export function startDispatcher(deps: DispatchDeps, opts: { intervalMs?: number; sweepMs?: number; limit?: number } = {}): DispatcherHandle {
  const intervalMs = opts.intervalMs ?? 1_000;
  const sweepMs = opts.sweepMs ?? 30_000;
  const limit = opts.limit ?? 200;
  let stopped = false;
  let wake: (() => void) | null = null;
  let lastSweep = Date.now();
  let failures = 0;
  const loop = (async () => {
    while (!stopped) {
      let full = false;
      try {
        full = (await dispatchOnce(deps, { limit })).events >= limit;
        if (Date.now() - lastSweep >= sweepMs) {
          lastSweep = Date.now();
          await sweepOnce(deps);
        }
        failures = 0;
      } catch (err) {
        failures++;
        if (!stopped) deps.logger?.warn({ err: (err as Error).message, failures }, 'robot dispatcher pass failed');
      }
      if (full || stopped) continue;
      const wait = failures ? Math.min(intervalMs * 2 ** failures, 30_000) : intervalMs;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = null;
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
