// Fault-test part: the embedded PostgreSQL alone (scripts/lib/embedded-postgres.ts) in
// this process group, data kept in PG_DATA_DIR across restarts. Prints "READY <url>".
import { startEmbeddedPostgres } from '../../../scripts/lib/embedded-postgres';

async function main(): Promise<void> {
  const pg = await startEmbeddedPostgres({
    dataDir: process.env.PG_DATA_DIR!,
    port: Number(process.env.PG_PORT),
    onLog: (l) => process.stderr.write(`${l}\n`),
  });
  const stop = () => void pg.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`READY ${pg.url}\n`);
  setInterval(() => undefined, 1 << 30);
}

main().catch((err) => {
  process.stderr.write(`postgres part: ${(err as Error).message}\n`);
  process.exit(1);
});
