// Baseline workflows of the benchmarks (bench/README.md): the least a Temporal workflow
// can do, run by a bare Worker on its own task queue against the same dev server as the
// stack, so the real workflows' figures can be read as a ratio against these.
import { condition, defineUpdate, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { FloorActivities } from './lib/floor-activities';

/** The one Update the bare workflow waits for. */
export const bareUpdate = defineUpdate<string, [string]>('bare');

/** Waits for one Update, answers it and completes (e2e throughput baseline). */
export async function bareUpdateWorkflow(): Promise<string> {
  let got: string | undefined;
  setHandler(bareUpdate, (v) => {
    got = v;
    return v;
  });
  await condition(() => got !== undefined);
  return got!;
}

/** Completes in its first workflow task (import baseline: a bare start, run once). */
export async function bareStartWorkflow(): Promise<void> {}

// ---- e2e-floor (bench/e2e-floor.ts) ------------------------------------------------
// The least a durable confirmation can be on this stack: a row written when the workflow
// starts (a local activity, as the transfer's first steps), the Update's decision written
// to that row, then completion. No API, no Prisma, one SQL statement per write.
const remote = proxyActivities<FloorActivities>({ startToCloseTimeout: '30 seconds' });
const local = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '30 seconds' });

/** The confirmation of a floor workflow. */
export const floorConfirm = defineUpdate<string, [string]>('floorConfirm');

/** `decisionLocal`: the Update's write as a local activity (inside its workflow task) instead of an activity. */
export async function floorWorkflow(id: string, decisionLocal: boolean): Promise<string> {
  let started = false;
  let decided: string | undefined;
  setHandler(floorConfirm, async (v) => {
    await condition(() => started);
    await (decisionLocal ? local : remote).floorWrite(id, 'CONFIRMED');
    decided = v;
    return v;
  });
  await local.floorWrite(id, 'PENDING');
  started = true;
  await condition(() => decided !== undefined);
  return decided!;
}
