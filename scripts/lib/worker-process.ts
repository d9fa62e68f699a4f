// The worker (activities/worker.ts) as a child process of the stack, as it runs in
// production (docker-compose: its own container): STACK_WORKER=process. Then the API and
// the worker each have a core of their own instead of sharing one event loop; the
// benchmarks run the stack this way (bench/lib/stack.ts). Its log lines pass through.
import readline from 'node:readline';
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import { ROOT, tsxArgs } from './node-process';

export interface WorkerProcess {
  pid: number;
  stop(): Promise<void>;
}

/** Starts the worker with `env` and resolves once it polls; `onExit` hears of an exit nobody asked for. */
export function startWorkerProcess(env: NodeJS.ProcessEnv, logger: Logger, onExit: (code: number | null) => void): Promise<WorkerProcess> {
  const child = spawn(process.execPath, tsxArgs('activities/worker.ts', env), {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stopping = false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const handle: WorkerProcess = {
    pid: child.pid!,
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM'); // the SDK finishes its tasks, then exits
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return new Promise((resolve, reject) => {
    let ready = false;
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      process.stdout.write(`${line}\n`);
      if (!ready && line.includes('worker started')) {
        ready = true;
        logger.info({ workerPid: child.pid }, 'worker process started');
        resolve(handle);
      }
    });
    void exited.then((code) => {
      if (!ready) reject(new Error(`the worker process exited (${code}) before it started; its output is above`));
      else if (!stopping) onExit(code);
    });
  });
}
