// Period freeze and reconciliation cycle close. Deterministic sandbox code.
import { getExternalWorkflowHandle, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { periodFrozenSignal, type FreezeChoice } from './messages';
import type { Actor } from './types';

const { freezePeriod, listOpenTransfers, closeCycle } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export interface PeriodFreezeInput {
  groupId: string;
  period: string;
  choice: FreezeChoice | null;
  reason: string | null;
  actor: Actor | null;
}

export interface PeriodFreezeResult {
  period: string;
  choice: FreezeChoice;
  toPeriod: string | null;
  openTransfers: number;
}

/**
 * Freezes a period, then hands every open transfer of it to HQ (ESCALATE) or moves it to
 * the next open period (ROLL_FORWARD). A durable workflow: a crash half-way resumes, and
 * transfers ignore a freeze they have already applied.
 */
export async function periodFreezeWorkflow(input: PeriodFreezeInput): Promise<PeriodFreezeResult> {
  const { workflowId } = workflowInfo();
  const { choice, toPeriod } = await freezePeriod({ ...input, key: workflowId });
  const open = await listOpenTransfers({ groupId: input.groupId, period: input.period });
  for (let i = 0; i < open.length; i += 50) {
    await Promise.all(
      open.slice(i, i + 50).map((t) =>
        getExternalWorkflowHandle(t.workflowId)
          .signal(periodFrozenSignal, { period: input.period, choice, toPeriod, reason: input.reason })
          .catch(() => undefined), // already finished: nothing to move
      ),
    );
  }
  return { period: input.period, choice, toPeriod, openTransfers: open.length };
}

/** Run by a Temporal Schedule per group (default every Friday 18:00 group time). */
export async function cycleCloseWorkflow(input: { groupId: string }): Promise<{ frozen: Array<{ entityId: string; code: string; transfers: number }> }> {
  return closeCycle({ groupId: input.groupId, at: new Date().toISOString() });
}
