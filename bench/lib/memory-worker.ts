// The worker of the worker-memory benchmark: the project's own worker (activities/worker.ts,
// same options, maxCachedWorkflows included) in a process of its own, on the task queue
// the benchmark gives it, printing its memory and the SDK's status as JSON lines every
// MEMORY_SAMPLE_MS. Configured like `npm run worker` (DATABASE_URL, TEMPORAL_ADDRESS, …).
import { startWorker } from '../../activities/worker';
import { createPrisma } from '../../prisma/client';
import { loadEnv, WORKER_ENV } from '../../scripts/lib/config';
import { createLogger } from '../../scripts/lib/logger';
import { whenProcessGone } from '../../scripts/lib/node-process';

async function main(): Promise<void> {
  const config = loadEnv(WORKER_ENV);
  const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, name: 'bench-worker' });
  const prisma = createPrisma(config.DATABASE_URL);
  const handle = await startWorker(config, { prisma, logger }, { schedules: false, robots: false });
  // Gone with the bench process, however it ended.
  whenProcessGone(process.ppid, () => process.exit(0));
  const every = Number(process.env.MEMORY_SAMPLE_MS ?? 1000);
  const sample = () => {
    const m = process.memoryUsage();
    const s = handle.worker.getStatus();
    process.stdout.write(
      `${JSON.stringify({ t: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, cached: s.numCachedWorkflows, activations: s.numInFlightWorkflowActivations, activities: s.numInFlightActivities })}\n`,
    );
  };
  sample();
  const timer = setInterval(sample, every);
  await handle.done;
  clearInterval(timer);
  await prisma.$disconnect();
}

main().catch((err) => {
  console.error(`bench worker: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
