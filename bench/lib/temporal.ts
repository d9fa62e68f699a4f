// Temporal pieces the benchmarks run themselves: a client, and the bare Worker of the
// baselines (bench/baseline-workflows.ts) on a task queue of its own.
import crypto from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';

let runtimeInstalled = false;
let bundle: Promise<string> | undefined;
const quiet = { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} };

export async function temporalClient(address: string): Promise<Client> {
  return new Client({ connection: await Connection.connect({ address }) });
}

export interface BareWorker {
  taskQueue: string;
  stop(): Promise<void>;
}

/** A Worker running only the baseline workflows, with default options, on its own task queue (and `activities`, if given). */
export async function startBareWorker(address: string, activities?: object): Promise<BareWorker> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../baseline-workflows'), logger: quiet as never }).then((b) => b.code);
  const connection = await NativeConnection.connect({ address });
  const taskQueue = `bench-baseline-${crypto.randomBytes(4).toString('hex')}`;
  const worker = await Worker.create({ connection, taskQueue, workflowBundle: { code: await bundle }, ...(activities ? { activities } : {}) });
  const running = worker.run();
  return {
    taskQueue,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
