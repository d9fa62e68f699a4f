// Prisma 7 client on the pg driver adapter. The client is generated into
// generated/prisma (not committed) by `prisma generate`.
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';

export { Prisma } from '../generated/prisma/client';
export type { PrismaClient } from '../generated/prisma/client';
export * as db from '../generated/prisma/enums';

const pools = new WeakMap<PrismaClient, pg.Pool>();

export function createPrisma(connectionString: string, opts: { max?: number } = {}): PrismaClient {
  // The named statements of pgPoolOf() below are planned once per connection (PostgreSQL would
  // otherwise re-plan them for their first five runs and whenever a custom plan looks
  // cheaper); Prisma's own statements are unnamed and planned per run whatever this says.
  // A SET (awaited before the connection is handed out) rather than a startup option, which
  // poolers such as PgBouncer refuse.
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    onConnect: async (client) => {
      await client.query('SET plan_cache_mode = force_generic_plan');
    },
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  pools.set(prisma, pool);
  return prisma;
}

/**
 * The pg pool under a client made by createPrisma(), for the few hot statements that are
 * worth a named prepared statement (planned once per connection; Prisma plans every time):
 * GET /api/tasks (api/my-tasks.ts).
 */
export function pgPoolOf(prisma: PrismaClient): pg.Pool {
  const pool = pools.get(prisma);
  if (!pool) throw new Error('this PrismaClient was not made by createPrisma()');
  return pool;
}
