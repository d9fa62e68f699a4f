// Database chores, offline:
//   npm run db:migrate            apply prisma/migrations to DATABASE_URL
//   npm run db:diff -- <name>     write prisma/migrations/<ts>_<name>/migration.sql from
//                                 the change in schema.prisma (uses a throw-away
//                                 embedded PostgreSQL unless DATABASE_URL is set)
//   npm run db:seed               seed the demo group into DATABASE_URL if it is empty
//   npm run db:app-login          create or update the application's login role
//                                 ic_confirm_app_login (member of ic_confirm_app: audit
//                                 rows append-only) with APP_DATABASE_PASSWORD, using the
//                                 owner's DATABASE_URL
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrateDeploy, diffSnapshotToSchema, takeSnapshot, ROOT } from '../prisma/migrate';
import { startEmbeddedPostgres, freePort } from './lib/embedded-postgres';
import { seedDemo } from '../prisma/seed';
import { createPrisma } from '../prisma/client';
import { APP_LOGIN, ensureAppLogin } from './lib/app-role';
import { loadEnv } from './lib/config';

async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  if (process.env.DATABASE_URL) return fn(process.env.DATABASE_URL);
  const pg = await startEmbeddedPostgres({
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'ic-diff-pg-')),
    port: await freePort(),
    ephemeral: true,
  });
  try {
    return await fn(pg.url);
  } finally {
    await pg.stop();
  }
}

async function main(): Promise<void> {
  const [command, name] = process.argv.slice(2);
  if (command === 'migrate') {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is not set (e.g. postgresql://user:pass@host:5432/db)');
    process.stdout.write(await migrateDeploy(url));
  } else if (command === 'app-login') {
    const env = loadEnv(['DATABASE_URL', 'APP_DATABASE_PASSWORD']);
    if (!env.APP_DATABASE_PASSWORD) throw new Error('APP_DATABASE_PASSWORD is not set: the password the worker and the API will log in with');
    const url = new URL(await ensureAppLogin(env.DATABASE_URL, env.APP_DATABASE_PASSWORD));
    console.log(`role ${APP_LOGIN} is ready (member of ic_confirm_app): connect the worker and the API as ${url.username}@${url.host}${url.pathname}`);
  } else if (command === 'diff') {
    if (!name || !/^[a-z0-9_]+$/.test(name)) throw new Error('usage: npm run db:diff -- <snake_case_name>');
    await withDatabase(async (url) => {
      await migrateDeploy(url);
      const sql = await diffSnapshotToSchema(url);
      if (!sql) {
        console.log('schema.prisma and prisma/migrations are in sync: nothing to write');
        return;
      }
      const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
      const dir = path.join(ROOT, 'prisma', 'migrations', `${stamp}_${name}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'migration.sql'), sql + '\n');
      takeSnapshot();
      await migrateDeploy(url); // proves the new migration applies
      console.log(`wrote ${path.relative(ROOT, dir)}/migration.sql`);
    });
  } else if (command === 'seed') {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is not set');
    const prisma = createPrisma(url);
    try {
      console.log((await seedDemo(prisma)) ? 'seeded the demo group' : 'database not empty: nothing seeded');
    } finally {
      await prisma.$disconnect();
    }
  } else {
    throw new Error('usage: db.ts migrate | diff <name> | seed | app-login');
  }
}

main().catch((err) => {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
});
