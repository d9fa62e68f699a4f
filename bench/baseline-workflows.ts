// Baseline workflows of the benchmarks (bench/README.md): the least a Temporal workflow
// can do, run by a bare Worker on its own task queue against the same dev server as the
// stack, so the real workflows' figures can be read as a ratio against these.
import { condition, defineUpdate, setHandler } from '@temporalio/workflow';

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
