// Fault-test part: the Temporal dev server alone (scripts/lib/temporal-server.ts) in this
// process group, with its SQLite file kept across restarts. Prints "READY <address>".
import { startDevServer } from '../../../scripts/lib/temporal-server';

async function main(): Promise<void> {
  const dev = await startDevServer({
    port: Number(process.env.TEMPORAL_PORT),
    dbFile: process.env.TEMPORAL_DB_FILE!,
    headless: true,
    onLog: (l) => process.stderr.write(`${l}\n`),
  });
  const stop = () => void dev.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  dev.process.once('exit', (code) => {
    process.stderr.write(`temporal dev server exited (${code})\n`);
    process.exit(1);
  });
  process.stdout.write(`READY ${dev.address}\n`);
}

main().catch((err) => {
  process.stderr.write(`temporal part: ${(err as Error).message}\n`);
  process.exit(1);
});
