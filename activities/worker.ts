// The Temporal worker: runs the workflows of workflows/ and the activities of this
// folder on one task queue. `npm run worker` starts it alone (configured by env vars).
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, Worker, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';
import { Client, Connection } from '@temporalio/client';
import { ensureCycleSchedules } from './schedules';
import { createActivities } from '.';
import { createRobotActivities } from './robots/activities';
import { startDispatcher, type DispatcherHandle } from './robots/dispatcher';
import { startOrphanStarter, type StarterHandle } from './starter';
import { createPrisma, type PrismaClient } from '../prisma/client';
import { loadEnv, WORKER_ENV, ConfigError, type WorkerConfig } from '../scripts/lib/config';
import { createLogger } from '../scripts/lib/logger';

let runtimeInstalled = false;

/** Sends the Temporal runtime's logs (SDK and Rust core) through pino. Once per process. */
export function installTemporalRuntime(logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (['trace', 'debug', 'info', 'warn', 'error'].includes(logger.level) ? logger.level.toUpperCase() : 'INFO') as LogLevel;
  const log = logger.child({ component: 'temporal' });
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      const method = entry.level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
      log[method]({ ...entry.meta }, entry.message);
    }),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: level === 'TRACE' ? 'DEBUG' : 'WARN' }), forward: {} } },
  });
}

export interface WorkerHandle {
  worker: Worker;
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

export async function startWorker(
  config: WorkerConfig,
  deps: { prisma: PrismaClient; logger: Logger },
  opts: { schedules?: boolean; robots?: boolean; starter?: boolean } = {},
): Promise<WorkerHandle> {
  installTemporalRuntime(deps.logger);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ...(config.WORKFLOW_BUNDLE
      ? { workflowBundle: { codePath: path.resolve(config.WORKFLOW_BUNDLE) } }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: {
      ...createActivities({ prisma: deps.prisma, logger: deps.logger.child({ component: 'activities' }) }),
      // WeCom / DingTalk robots (workflows/robot.ts); links in messages start at PUBLIC_URL.
      ...createRobotActivities({
        prisma: deps.prisma,
        logger: deps.logger.child({ component: 'robots' }),
        publicUrl: config.PUBLIC_URL ?? `http://localhost:${'PORT' in config ? (config as { PORT?: number }).PORT ?? 3000 : 3000}`,
      }),
    },
    // Bounded memory: at most this many workflow histories are cached; the rest are
    // replayed from the server when they wake up.
    maxCachedWorkflows: 1000,
  });
  if (opts.schedules !== false) {
    // Temporal Schedules for the cycle close of every group.
    const client = new Client({ connection: await Connection.connect({ address: config.TEMPORAL_ADDRESS }), namespace: config.TEMPORAL_NAMESPACE });
    try {
      await ensureCycleSchedules(client, deps.prisma, config.TEMPORAL_TASK_QUEUE, deps.logger);
    } finally {
      await client.connection.close();
    }
  }
  // The robot dispatcher (notification events → deliveries → robot workflows) and the
  // starter sweep (workflows of transfers whose start was lost), with one client.
  let dispatcher: DispatcherHandle | undefined;
  let starter: StarterHandle | undefined;
  let dispatcherClient: Client | undefined;
  if (opts.robots !== false || opts.starter !== false) {
    dispatcherClient = new Client({ connection: await Connection.connect({ address: config.TEMPORAL_ADDRESS }), namespace: config.TEMPORAL_NAMESPACE });
  }
  if (opts.robots !== false) {
    dispatcher = startDispatcher({ prisma: deps.prisma, client: dispatcherClient!, taskQueue: config.TEMPORAL_TASK_QUEUE, logger: deps.logger.child({ component: 'robot-dispatcher' }) });
  }
  if (opts.starter !== false) {
    starter = startOrphanStarter({ prisma: deps.prisma, client: dispatcherClient!, taskQueue: config.TEMPORAL_TASK_QUEUE, logger: deps.logger.child({ component: 'workflow-starter' }) });
  }
  const done = worker.run().finally(async () => {
    await Promise.all([dispatcher?.stop(), starter?.stop()]);
    await dispatcherClient?.connection.close();
    await connection.close();
  });
  return {
    worker,
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

async function main(): Promise<void> {
  const config = loadEnv(WORKER_ENV);
  const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, name: 'worker' });
  const prisma = createPrisma(config.DATABASE_URL);
  const handle = await startWorker(config, { prisma, logger });
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, address: config.TEMPORAL_ADDRESS }, 'worker started');
  // The SDK shuts the worker down gracefully on SIGINT / SIGTERM.
  await handle.done;
  await prisma.$disconnect();
  logger.info('worker stopped');
}

if (require.main === module) {
  main().catch((err) => {
    if (err instanceof ConfigError) console.error(`worker: ${err.message}`);
    else console.error(`worker: cannot start: ${(err as Error).message}`);
    process.exit(1);
  });
}
