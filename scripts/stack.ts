// Everything in one process tree, on embedded defaults: PostgreSQL (embedded unless
// DATABASE_URL), migrations, the demo seed, the Temporal dev server (unless
// TEMPORAL_ADDRESS), the worker (in this process, or STACK_WORKER=process: a child process)
// and the API. Started by `npm start` (through scripts/start.js, which installs what is
// missing first), by the end-to-end tests and by the benchmarks.
// Ctrl-C / SIGTERM stops everything it started.
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadEnv, EnvVars, type EnvKey } from './lib/config';
import { createLogger } from './lib/logger';
import { StartupError, reachableDataDir, startEmbeddedPostgres, type EmbeddedPostgresHandle } from './lib/embedded-postgres';
import { startDevServer, waitForTemporal, ROOT, type DevServerHandle } from './lib/temporal-server';
import { migrateDeploy, migrationsApplied } from '../prisma/migrate';
import { ensureAppLogin } from './lib/app-role';
import { createPrisma, type PrismaClient } from '../prisma/client';
import { demoLogins, seedDemo, DEMO_PASSWORD } from '../prisma/seed';
import { startWorker, type WorkerHandle } from '../activities/worker';
import { startWorkerProcess } from './lib/worker-process';
import { whenProcessGone } from './lib/node-process';
import { buildServer, createTemporalClient } from '../api/server';

// DATABASE_URL and TEMPORAL_ADDRESS are optional here: unset means "start the embedded one".
const STACK_ENV = (Object.keys(EnvVars) as EnvKey[]).filter((k) => k !== 'DATABASE_URL');

export interface StackInfo {
  apiUrl: string;
  inboxUrl: string;
  openApiUrl: string;
  temporalAddress: string;
  temporalUiUrl: string | null;
  /** What the worker and the API connect with (embedded: a member of ic_confirm_app, see lib/app-role.ts). */
  databaseUrl: string;
  /** What the migrations and the seed ran with (embedded: the superuser; external: DATABASE_URL). */
  ownerDatabaseUrl: string;
  embeddedPostgres: boolean;
  pid: number;
}

async function main(): Promise<void> {
  // npm start is the demo: demo mode unless the environment says otherwise.
  if (process.env.DEMO_MODE === undefined) process.env.DEMO_MODE = 'true';
  if (process.env.LOG_FORMAT === undefined && process.stdout.isTTY) process.env.LOG_FORMAT = 'pretty';
  let env: ReturnType<typeof loadEnv<(typeof STACK_ENV)[number]>>;
  try {
    env = loadEnv(STACK_ENV);
    if (process.env.DATABASE_URL) loadEnv(['DATABASE_URL']);
  } catch (err) {
    console.error(`\ncannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger({ level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  const stops: Array<[string, () => Promise<unknown>]> = [];
  let stopping = false;

  const stopAll = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'stopping');
    for (const [name, stop] of stops.reverse()) {
      try {
        await stop();
        logger.debug(`${name} stopped`);
      } catch (err) {
        logger.warn({ err }, `${name} did not stop cleanly`);
      }
    }
    logger.info('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll('SIGINT', 0));
  process.on('SIGTERM', () => void stopAll('SIGTERM', 0));
  process.on('SIGHUP', () => void stopAll('SIGHUP', 0));
  // Started by a test run: stop when that process is gone (killed runs leave nothing behind).
  const parent = Number(process.env.STACK_PARENT_PID);
  if (parent > 0) whenProcessGone(parent, () => void stopAll('parent process gone', 0));

  try {
    // PostgreSQL
    let databaseUrl = process.env.DATABASE_URL;
    let pg: EmbeddedPostgresHandle | undefined;
    if (!databaseUrl) {
      const dataDir = reachableDataDir(path.resolve(ROOT, env.PG_DATA_DIR), (m) => logger.warn(m));
      logger.info({ dataDir, port: env.PG_PORT }, 'starting embedded PostgreSQL');
      pg = await startEmbeddedPostgres({ dataDir, port: env.PG_PORT, onLog: (l) => logger.trace({ component: 'postgres' }, l) });
      stops.push(['postgres', () => pg!.stop()]);
      databaseUrl = pg.url;
    }
    if (await migrationsApplied(databaseUrl)) {
      logger.info('database schema is up to date');
    } else {
      logger.info('applying migrations');
      await migrateDeploy(databaseUrl).catch((err: Error) => {
        throw new StartupError(`database migrations failed: ${err.message}`, 'check DATABASE_URL points at a PostgreSQL database this user may change');
      });
    }
    if (env.DEMO_MODE) {
      const owner = createPrisma(databaseUrl, { max: 2 });
      if (await seedDemo(owner).finally(() => owner.$disconnect())) logger.info('seeded the demo group');
    }
    // The worker and the API run as a member of ic_confirm_app: audit rows are append-only to them.
    const ownerDatabaseUrl = databaseUrl;
    if (pg) databaseUrl = await ensureAppLogin(ownerDatabaseUrl);
    const prisma: PrismaClient = createPrisma(databaseUrl);
    stops.push(['prisma', () => prisma.$disconnect()]);

    // Temporal
    let temporalAddress = process.env.TEMPORAL_ADDRESS;
    let temporalUiUrl: string | null = process.env.TEMPORAL_UI_URL ?? null;
    let dev: DevServerHandle | undefined;
    if (temporalAddress) {
      await waitForTemporal(temporalAddress, 15_000).catch((err: Error) => {
        throw new StartupError(err.message, 'check TEMPORAL_ADDRESS (host:port of a Temporal frontend), or unset it to start the dev server');
      });
    } else {
      logger.info({ port: env.TEMPORAL_PORT, uiPort: env.TEMPORAL_UI_PORT }, 'starting the Temporal dev server');
      dev = await startDevServer({
        port: env.TEMPORAL_PORT,
        uiPort: env.TEMPORAL_UI_PORT,
        dbFile: path.resolve(ROOT, env.TEMPORAL_DB_FILE),
        namespace: env.TEMPORAL_NAMESPACE,
        onLog: (l) => logger.debug({ component: 'temporal-server' }, l),
      });
      stops.push(['temporal', () => dev!.stop()]);
      temporalAddress = dev.address;
      temporalUiUrl = dev.uiUrl;
    }
    const config = { ...env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_UI_URL: temporalUiUrl ?? env.TEMPORAL_UI_URL };

    // Worker: here (STACK_WORKER=inline), or in a process of its own once the API listens.
    if (env.STACK_WORKER === 'inline') {
      const worker: WorkerHandle = await startWorker(config, { prisma, logger: logger.child({ name: 'worker' }) });
      stops.push(['worker', () => worker.shutdown()]);
      worker.done.catch((err) => {
        logger.error({ err }, 'worker failed');
        void stopAll('worker failed', 1);
      });
    }

    // API
    const temporal = createTemporalClient(config);
    stops.push(['temporal client', () => temporal.connection.close()]);
    const server = await buildServer(config, { prisma, temporal, logger: logger.child({ name: 'api' }) });
    stops.push(['api', () => server.close()]);
    try {
      await server.listen({ host: config.HOST, port: config.PORT });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new StartupError(`port ${config.PORT} for the API is already in use`, 'set PORT to a free port');
      throw err;
    }
    const port = (server.server.address() as AddressInfo).port;
    const apiUrl = `http://localhost:${port}`;
    if (env.STACK_WORKER === 'process') {
      const worker = await startWorkerProcess(
        { ...process.env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, PUBLIC_URL: config.PUBLIC_URL ?? apiUrl },
        logger,
        (code) => {
          logger.error({ code }, 'the worker process exited');
          void stopAll('worker failed', 1);
        },
      );
      // Stopped before the API and the rest (stops run in reverse).
      stops.push(['worker', () => worker.stop()]);
    }
    const info: StackInfo = {
      apiUrl,
      inboxUrl: `${apiUrl}/`,
      openApiUrl: `${apiUrl}/docs`,
      temporalAddress,
      temporalUiUrl,
      databaseUrl,
      ownerDatabaseUrl,
      embeddedPostgres: !!pg,
      pid: process.pid,
    };
    if (process.env.STACK_READY_FILE) fs.writeFileSync(process.env.STACK_READY_FILE, JSON.stringify(info));
    printBanner(info, env.DEMO_MODE);
  } catch (err) {
    if (err instanceof StartupError || err instanceof ConfigError) {
      console.error(`\ncannot start: ${err.message}${err instanceof StartupError ? `\n  how to fix: ${err.hint}` : ''}\n`);
    } else {
      console.error(`\ncannot start: ${(err as Error).stack ?? err}\n`);
    }
    await stopAll('startup failed', 1);
  }
}

function printBanner(info: StackInfo, demo: boolean): void {
  const lines = [
    '',
    'Intercompany transfer confirmation is running:',
    `  API            ${info.apiUrl}`,
    `  Inbox          ${info.inboxUrl}`,
    `  OpenAPI        ${info.openApiUrl}  (JSON: ${info.apiUrl}/docs/json)`,
    `  Temporal UI    ${info.temporalUiUrl ?? '(external Temporal: see TEMPORAL_UI_URL)'}`,
    `  Temporal       ${info.temporalAddress}`,
    `  PostgreSQL     ${info.embeddedPostgres ? `embedded, ${info.databaseUrl.replace(/:[^:@/]+@/, ':***@')}` : 'DATABASE_URL'}`,
  ];
  if (demo) {
    lines.push('', `Demo logins (password "${DEMO_PASSWORD}"):`);
    for (const l of demoLogins()) lines.push(`  ${l.username.padEnd(18)} ${l.role}`);
    lines.push('', `  curl -s ${info.apiUrl}/api/auth/login -H 'content-type: application/json' -d '{"username":"sh01.accountant","password":"${DEMO_PASSWORD}"}'`);
  }
  lines.push('', 'Ctrl-C stops everything.', '');
  process.stdout.write(lines.join('\n'));
}

void main();
