// One Temporal Schedule per group closes the reconciliation cycle (default every Friday
// 18:00 in the group's timezone, Group.cycleCloseCron). Created or updated when the
// worker starts; idempotent, so several workers may do it.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleSpec } from '@temporalio/client';
import type { Logger } from 'pino';
import type { PrismaClient } from '../prisma/client';
import { cycleCloseWorkflow } from '../workflows/period';

export function cycleScheduleId(groupCode: string): string {
  return `cycle-close:${groupCode}`;
}

export async function ensureCycleSchedule(
  client: Client,
  group: { id: string; code: string; cycleCloseCron: string; timezone: string },
  taskQueue: string,
  spec: ScheduleSpec = { cronExpressions: [group.cycleCloseCron], timezone: group.timezone },
): Promise<'created' | 'updated'> {
  const scheduleId = cycleScheduleId(group.code);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: cycleCloseWorkflow,
    args: [{ groupId: group.id }] as [{ groupId: string }],
    taskQueue,
    workflowId: `cycle-close:${group.code}`,
  };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' } });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action }));
    return 'updated';
  }
}

export async function ensureCycleSchedules(client: Client, prisma: PrismaClient, taskQueue: string, logger?: Logger): Promise<void> {
  const groups = await prisma.group.findMany({ select: { id: true, code: true, cycleCloseCron: true, timezone: true } });
  for (const g of groups) {
    const what = await ensureCycleSchedule(client, g, taskQueue);
    logger?.info({ group: g.code, cron: g.cycleCloseCron, timezone: g.timezone, schedule: cycleScheduleId(g.code) }, `cycle close schedule ${what}`);
  }
}
