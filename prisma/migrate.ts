// Applies prisma/migrations offline and generates new ones from schema.prisma.
// See prisma/migrate.config.ts for why this uses the Prisma 6.19 CLI.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Client } from 'pg';

export const ROOT = path.resolve(__dirname, '..');
const PRISMA6 = path.join(ROOT, 'node_modules', 'prisma6', 'build', 'index.js');
const CONFIG = path.join(ROOT, 'prisma', 'migrate.config.ts');
const SCHEMA = path.join(ROOT, 'prisma', 'schema.prisma');
const WORK_DIR = path.join(ROOT, '.tools', 'prisma6');

/** Prisma 7 rejects `url` in the datasource block, Prisma 6 requires it. */
function schemaForPrisma6(): string {
  const file = path.join(WORK_DIR, 'schema.prisma');
  fs.mkdirSync(WORK_DIR, { recursive: true });
  fs.writeFileSync(file, withUrl(fs.readFileSync(SCHEMA, 'utf8')));
  return file;
}

function withUrl(source: string): string {
  return source.replace(
    /datasource\s+db\s*\{([^}]*)\}/,
    (block, body: string) => (/\burl\s*=/.test(body) ? block : `datasource db {${body.trimEnd()}\n  url = env("DATABASE_URL")\n}`),
  );
}

/** Any existing file stops the Prisma CLI from downloading native engines it does not use here. */
function engineStub(): string {
  fs.mkdirSync(WORK_DIR, { recursive: true });
  const stub = path.join(WORK_DIR, 'no-native-engine');
  if (!fs.existsSync(stub)) fs.writeFileSync(stub, '');
  return stub;
}

export function offlineEngineEnv(): Record<string, string> {
  const stub = engineStub();
  return {
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? stub,
    PRISMA_QUERY_ENGINE_LIBRARY: process.env.PRISMA_QUERY_ENGINE_LIBRARY ?? stub,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  };
}

function run(args: string[], databaseUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const schema = schemaForPrisma6();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PRISMA6, ...args, '--config', CONFIG], {
      cwd: ROOT,
      env: { ...process.env, ...offlineEngineEnv(), DATABASE_URL: databaseUrl, PRISMA_MIGRATE_SCHEMA: schema },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Names of the migration folders in prisma/migrations, in order. */
export function migrationNames(): string[] {
  const dir = path.join(ROOT, 'prisma', 'migrations');
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** True when every migration folder is recorded as applied (skips starting the CLI, ~10 s). */
export async function migrationsApplied(databaseUrl: string): Promise<boolean> {
  const client = new Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    const r = await client.query<{ migration_name: string }>(
      `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const applied = new Set(r.rows.map((x) => x.migration_name));
    return migrationNames().every((n) => applied.has(n));
  } catch {
    return false; // no table yet, or not reachable: let the CLI say what is wrong
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function migrateDeploy(databaseUrl: string): Promise<string> {
  const r = await run(['migrate', 'deploy'], databaseUrl);
  if (r.code !== 0) {
    throw new Error(`prisma migrate deploy failed:\n${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout;
}

/**
 * Prisma 6's JS schema engine cannot describe a live database through the adapter
 * (`--from-url`/`--from-migrations` fail here), so new migrations are diffed
 * schema-to-schema: from the snapshot of schema.prisma taken when the latest
 * migration was written (prisma/migrations/schema.snapshot.prisma) to the current file.
 */
export const SNAPSHOT = path.join(ROOT, 'prisma', 'migrations', 'schema.snapshot.prisma');

export async function diffSnapshotToSchema(databaseUrl: string): Promise<string> {
  const current = schemaForPrisma6();
  const from = fs.existsSync(SNAPSHOT) ? ['--from-schema-datamodel', snapshotForPrisma6()] : ['--from-empty'];
  const r = await run(['migrate', 'diff', ...from, '--to-schema-datamodel', current, '--script'], databaseUrl);
  if (r.code !== 0) throw new Error(`prisma migrate diff failed:\n${(r.stderr || r.stdout).trim()}`);
  const sql = r.stdout.trim();
  return /^-- This is an empty migration\.?$/.test(sql) ? '' : sql;
}

function snapshotForPrisma6(): string {
  const file = path.join(WORK_DIR, 'snapshot.prisma');
  fs.writeFileSync(file, withUrl(fs.readFileSync(SNAPSHOT, 'utf8')));
  return file;
}

export function takeSnapshot(): void {
  fs.copyFileSync(SCHEMA, SNAPSHOT);
}
