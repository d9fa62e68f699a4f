// Where PostgreSQL's time goes in the one statement of GET /api/tasks (api/my-tasks.ts's
// myTasksSql, the route's own code): the statement as it is, and variants that each leave
// one part out, run one after the other on one connection for the demo users over
// INBOX_TASKS open tasks (bench/inbox.ts's data). Measured as the backend process's CPU
// (/proc), so the difference to the statement as it is is that part's cost. The variants
// are diagnostics, not answers the route could give.
import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { myTasksSql } from '../api/my-tasks';
import { createPrisma } from '../prisma/client';
import { withStack } from './lib/stack';
import { USERS, inboxActor, insertTasks } from './inbox';
import { processCpuS } from './lib/cpu';
import { intEnv, round, type BenchResult } from './lib/util';

/**
 * Rewrites of the statement's text (same parameters); each must change it, except the one
 * that runs it as it is under PostgreSQL's default plan_cache_mode (auto, as Prisma's own
 * statements run) instead of the API's force_generic_plan for its hand-written statements.
 */
const VARIANTS: Array<{ name: string; make: (text: string) => string; planCacheMode?: 'auto' }> = [
  { name: 'as it is', make: (t) => t },
  { name: 'as it is, planned by PostgreSQL’s default (plan_cache_mode = auto)', make: (t) => t, planCacheMode: 'auto' },
  {
    name: 'without the count (each way stops at 0 rows)',
    make: (t) => t.replace(/LIMIT (\$\d+)\) x\)/g, 'LIMIT $1 * 0) x)'),
  },
  {
    name: 'without the items’ JSON (ids only)',
    make: (t) =>
      t.replace(/SELECT p\."dueAt", p\.id, json_build_object\([\s\S]*?\) AS item\n/, (m) => {
        // Keep every parameter the items used, so the statement takes the same values.
        const params = [...new Set(m.match(/\$\d+/g) ?? [])].map((x) => `, '${x}', ${x}::bigint`).join('');
        return `SELECT p."dueAt", p.id, json_build_object('id', t.id${params}) AS item\n`;
      }),
  },
  {
    name: 'without the name lookups (users, entities)',
    make: (t) =>
      t
        .replace(/CASE WHEN (\S+) IS NULL THEN NULL ELSE coalesce\(\(SELECT json_build_object\('id', u\.id, 'name', u\."displayName"\) FROM "User" u WHERE u\.id = \S+\), json_build_object\('id', \S+, 'name', '\?'\)\) END/g, "json_build_object('id', $1)")
        .replace(/\(SELECT json_build_object\('id', e\.id, 'code', e\.code, 'name', e\.name\) FROM "Entity" e WHERE e\.id = ([^)]+)\)/g, "json_build_object('id', $1)"),
  },
  {
    name: 'without formatting instants (to_char)',
    make: (t) => t.replace(/to_char\(([^()]*?) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS\.MS"Z"'\)/g, '$1'),
  },
];

export async function run(): Promise<BenchResult> {
  const N = intEnv('INBOX_TASKS', 100_000);
  const Q = intEnv('INBOX_SQL_QUERIES', 700);
  const startedAt = new Date().toISOString();
  const t00 = Date.now();
  return withStack('inbox-sql', async (stack) => {
    const url = stack.ownerDatabaseUrl;
    await insertTasks(url, N);
    const prisma = createPrisma(url, { max: 1 });
    const actors: Array<Parameters<typeof myTasksSql>[0]> = [];
    try {
      for (const username of USERS) actors.push(await inboxActor(prisma, username));
    } finally {
      await prisma.$disconnect();
    }
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      // As the API's connections for its hand-written statements do (pgPoolOf, prisma/client.ts):
      // plan once per connection; the auto variant sets its own.
      const pid = (await client.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0].p;
      const backendMs = () => processCpuS(pid) * 1000;
      const runVariant = async (v: (typeof VARIANTS)[number], n: number) => {
        let bytes = 0;
        await client.query(`SET plan_cache_mode = ${v.planCacheMode ?? 'force_generic_plan'}`);
        const c0 = backendMs();
        const t0 = performance.now();
        for (let i = 0; i < n; i++) {
          const q = myTasksSql(actors[i % actors.length], 1, 50, Date.now());
          const text = v.make(q.text);
          if (v !== VARIANTS[0] && !v.planCacheMode && text === q.text) throw new Error(`variant "${v.name}" no longer matches the statement of api/my-tasks.ts: update bench/inbox-sql.ts`);
          const name = `bench_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
          const r = await client.query<{ body: string }>({ name, text, values: q.values as unknown[] });
          bytes += r.rows[0].body.length;
        }
        return { cpuMs: (backendMs() - c0) / n, wallMs: (performance.now() - t0) / n, kb: bytes / n / 1024 };
      };
      for (const v of VARIANTS) await runVariant(v, 50); // warm-up: plans, caches
      // Two passes, interleaved, against drift; the mean of both.
      const sums = VARIANTS.map(() => ({ cpuMs: 0, wallMs: 0, kb: 0 }));
      for (let pass = 0; pass < 2; pass++) {
        for (const [k, v] of VARIANTS.entries()) {
          const r = await runVariant(v, Q);
          sums[k].cpuMs += r.cpuMs / 2;
          sums[k].wallMs += r.wallMs / 2;
          sums[k].kb += r.kb / 2;
        }
      }
      const base = sums[0];
      const figures: Record<string, string> = {};
      for (const [k, v] of VARIANTS.entries()) {
        if (k === 0) continue;
        const s = sums[k];
        figures[v.name] = v.planCacheMode
          ? `${round(s.cpuMs, 2)} ms CPU, wall ${round(s.wallMs, 2)} ms: ${round(s.cpuMs - base.cpuMs, 2)} ms more than planned once (force_generic_plan)`
          : `${round(s.cpuMs, 2)} ms CPU (${round(s.kb, 1)} KB): that part ≈ ${round(base.cpuMs - s.cpuMs, 2)} ms = ${round((100 * (base.cpuMs - s.cpuMs)) / base.cpuMs, 0)} %`;
      }
      return {
        name: 'inbox-sql',
        params: { 'open tasks': N, 'statements per variant and pass': Q, passes: 2, users: USERS.join(', '), page: '1 of 50' },
        figures,
        baseline: { 'the statement as it is: backend CPU per statement (ms)': round(base.cpuMs, 2), 'wall per statement (ms)': round(base.wallMs, 2), 'body (KB)': round(base.kb, 1) },
        ratio: null,
        targets: [],
        notes: ['One connection, one statement at a time: the backend CPU of each statement alone (under the inbox benchmark\'s 50 connections the same statement costs more).'],
        startedAt,
        elapsedS: round((Date.now() - t00) / 1000, 1),
      };
    } finally {
      await client.end();
    }
  });
}
