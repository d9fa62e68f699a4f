// The workflow starter sweep: run by the worker process (activities/worker.ts) beside the
// robot dispatcher.
//
// The API saves a transfer and then starts its workflow. If the start is lost (Temporal
// was down: POST /api/transfers answered 503; the API stopped in the middle of a bulk
// import), the transfer sits PENDING without a task. Every `intervalMs` this sweep looks
// for such transfers saved more than `graceMs` ago and starts their workflows, with
// REJECT_DUPLICATE: a workflow that is already running (merely behind a long import
// backlog) is left alone and remembered for a while, so it is not asked about again at
// every pass. Nobody has to send anything twice; several workers may sweep at once.
import type { Logger } from 'pino';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { PrismaClient } from '../prisma/client';
import { transferWorkflow } from '../workflows/transfer';

export interface StarterDeps {
  prisma: PrismaClient;
  client: Client;
  taskQueue: string;
  logger?: Logger;
}

export interface StarterOptions {
  /** Pause between passes (default 60 s). */
  intervalMs?: number;
  /** A transfer younger than this is still being started by the API (default 2 min). */
  graceMs?: number;
  /** Transfers looked at per pass (default 200). */
  limit?: number;
}

/** Workflows found running are not asked about again for this long. */
const KNOWN_RUNNING_MS = 15 * 60_000;

/** One pass: starts the workflows of PENDING transfers without a task; returns how many it started. */
export async function startOrphansOnce(deps: StarterDeps, opts: StarterOptions & { known?: Map<string, number> } = {}): Promise<{ looked: number; started: number }> {
  const graceMs = opts.graceMs ?? 2 * 60_000;
  const limit = opts.limit ?? 200;
  const known = opts.known ?? new Map<string, number>();
  const now = Date.now();
  for (const [id, until] of known) if (until < now) known.delete(id);
  const rows = await deps.prisma.$queryRaw<Array<{ id: string; workflowId: string }>>`
    SELECT t.id::text AS id, t."workflowId" AS "workflowId"
    FROM "Transfer" t
    WHERE t.status = 'PENDING'
      AND t."createdAt" < ${new Date(now - graceMs)}
      AND NOT EXISTS (SELECT 1 FROM "Task" k WHERE k."transferId" = t.id)
      AND NOT (t.id = ANY(${[...known.keys()]}::uuid[]))
    ORDER BY t."createdAt"
    LIMIT ${limit}`;
  let started = 0;
  for (const r of rows) {
    try {
      await deps.client.workflow.start(transferWorkflow, {
        taskQueue: deps.taskQueue,
        workflowId: r.workflowId,
        args: [{ transferId: r.id }],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      started++;
      deps.logger?.warn({ transferId: r.id, workflowId: r.workflowId }, 'started the workflow of a transfer whose start was lost');
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    known.set(r.id, now + KNOWN_RUNNING_MS);
  }
  return { looked: rows.length, started };
}

export interface StarterHandle {
  stop(): Promise<void>;
}

export function startOrphanStarter(deps: StarterDeps, opts: StarterOptions = {}): StarterHandle {
  const intervalMs = opts.intervalMs ?? 60_000;
  const known = new Map<string, number>();
  let stopped = false;
  let wake: (() => void) | null = null;
  const loop = (async () => {
    while (!stopped) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = null;
      if (stopped) break;
      try {
        await startOrphansOnce(deps, { ...opts, known });
      } catch (err) {
        if (!stopped) deps.logger?.warn({ err: (err as Error).message }, 'workflow starter sweep failed; retrying at the next pass');
      }
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
