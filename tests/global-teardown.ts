// Stops the test stack (SIGTERM: the same clean shutdown as Ctrl-C) and removes its data.
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';

export default async function globalTeardown(): Promise<void> {
  const stack = (globalThis as Record<string, unknown>).__stack as { child: ChildProcess; dir: string; log: number } | undefined;
  if (!stack) return;
  const { child, dir, log } = stack;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, 20_000);
    await exited;
    clearTimeout(timer);
  }
  fs.closeSync(log);
  fs.rmSync(dir, { recursive: true, force: true });
}
