// Prisma 7 client on the pg driver adapter. The client is generated into
// generated/prisma (not committed) by `prisma generate`.
import crypto from 'node:crypto';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';

export { Prisma } from '../generated/prisma/client';
export type { PrismaClient } from '../generated/prisma/client';
export * as db from '../generated/prisma/enums';

/** Statements longer than this (a createMany of many rows, an import's batch) stay unnamed. */
export const MAX_NAMED_STATEMENT_CHARS = 16_384;
/** At most this many distinct statements are named (each connection prepares those it runs). */
export const MAX_NAMED_STATEMENTS = 2_000;
const statementNames = new Map<string, string>();

/**
 * The name under which a statement Prisma sends is prepared, once per connection: its next
 * runs on that connection skip PostgreSQL's parse and analysis (the e2e bench: PostgreSQL's
 * CPU per transfer 18.4 → 11 ms). The name is a digest of the text, so the same statement
 * has the same name on every connection and two statements never share one. Very long
 * statements, and any past the first MAX_NAMED_STATEMENTS, are sent unnamed (bounded memory
 * on both sides). PostgreSQL plans them as any prepared statement (plan_cache_mode auto:
 * custom plans for the first five runs, then the generic plan unless a custom one is
 * estimated cheaper), so no query is held to a generic plan that fits it badly.
 */
export function preparedStatementName({ sql }: { sql: string }): string | undefined {
  if (sql.length > MAX_NAMED_STATEMENT_CHARS) return undefined;
  let name = statementNames.get(sql);
  if (name === undefined) {
    if (statementNames.size >= MAX_NAMED_STATEMENTS) return undefined;
    name = `prisma_${crypto.createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  return name;
}

const handPools = new WeakMap<PrismaClient, () => pg.Pool>();

export function createPrisma(connectionString: string, opts: { max?: number } = {}): PrismaClient {
  const max = opts.max ?? 10;
  const pool = new pg.Pool({ connectionString, max });
  // The adapter's type says the generator returns a string; undefined (unnamed) is what pg
  // does when no name is given.
  const statementNameGenerator = preparedStatementName as (q: { sql: string }) => string;
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true, statementNameGenerator }) });
  // The hand-written statements' pool (pgPoolOf), made on first use; $disconnect ends it too.
  let hand: pg.Pool | undefined;
  handPools.set(prisma, () => {
    hand ??= new pg.Pool({
      connectionString,
      max,
      // Planned once per connection: PostgreSQL would otherwise plan the inbox's statement
      // afresh on every run (auto keeps choosing custom plans for it: bench inbox-sql, 4.1
      // against 3.26 ms of its CPU). A SET (awaited before the connection is handed out)
      // rather than a startup option, which poolers such as PgBouncer refuse.
      onConnect: async (client) => {
        await client.query('SET plan_cache_mode = force_generic_plan');
      },
    });
    // An idle connection the server ends (a restart, a shutdown) is dropped from the pool and
    // the next query connects anew, as Prisma's adapter does for its own pool; unhandled,
    // pg's 'error' event would end the process.
    hand.on('error', () => undefined);
    return hand;
  });
  const disconnect = prisma.$disconnect.bind(prisma);
  let handEnded: Promise<void> | undefined;
  prisma.$disconnect = async () => {
    await disconnect();
    handEnded ??= hand?.end();
    await handEnded;
  };
  return prisma;
}

/**
 * A pg pool beside a client made by createPrisma() (same database, its own connections), for
 * the few hot statements written by hand as named prepared statements, each planned once per
 * connection: GET /api/tasks (api/my-tasks.ts), the acting user (api/plugins/auth.ts).
 */
export function pgPoolOf(prisma: PrismaClient): pg.Pool {
  const pool = handPools.get(prisma);
  if (!pool) throw new Error('this PrismaClient was not made by createPrisma()');
  return pool();
}
