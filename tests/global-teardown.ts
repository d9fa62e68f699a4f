// Stops the test stack (SIGTERM: the same clean shutdown as Ctrl-C) and removes its data
// and the run's temp directory (the workflow bundle).
import fs from 'node:fs';
import type { SpawnedStack } from '../scripts/lib/spawn-stack';

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  await (g.__stack as SpawnedStack | undefined)?.stop();
  const dir = g.__testTmpDir as string | undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
