// 2. Inbox under load: INBOX_TASKS open tasks (default 100,000) in the database, spread
// over the demo users, inserted with SQL; GET /api/tasks for random users at
// INBOX_CONNECTIONS concurrent connections (default 50) with autocannon: req/s, p50/p99.
// Three runs of the API: as it is (its read cache on: api/read-cache.ts), reading through
// it (`Cache-Control: no-cache` on every request: the statement on every request), and
// as it is while INBOX_CHURN_PER_S tasks change every second (each change its own
// transaction, so its invalidation reaches the cache). Baseline: a bare Fastify route on
// the same machine, same autocannon settings. Prints the plan (EXPLAIN ANALYZE) of the one
// statement GET /api/tasks runs (api/my-tasks.ts's myTasksSql, the route's own code) for
// an accountant and for HQ finance.
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { myTasksSql } from '../api/my-tasks';
import { createPrisma, type PrismaClient } from '../prisma/client';
import { withStack } from './lib/stack';
import { startHelperServer } from './lib/helper-server';
import { cpuByKind, cpuDelta, cpuPerItem } from './lib/cpu';
import { call, intEnv, login, pgPool, round, sleep, sql, type BenchResult } from './lib/util';

export const USERS = ['hq.finance', 'sh01.accountant', 'sh01.supervisor', 'sz02.accountant', 'sz02.supervisor', 'hk03.accountant', 'hk03.supervisor'];
const SUBS = ['SH01', 'SZ02', 'HK03'];

/**
 * One PENDING transfer per task, between the demo subsidiaries, created by the sender's
 * accountant. Tasks, by g % 20: 0–13 the receiver's accountants (CONFIRM, level 0),
 * 14–16 escalated to its supervisors, 17–18 escalated to HQ finance, 19 assigned by
 * name to the receiver's accountant (a countersign). Deadlines from 24 h ago to 48 h on.
 */
export async function insertTasks(url: string, n: number): Promise<void> {
  const ids = await sql<{ code: string; id: string }>(url, `SELECT code, id FROM "Entity" WHERE code = ANY($1)`, [SUBS]);
  const users = await sql<{ username: string; id: string }>(url, `SELECT username, id FROM "User" WHERE username = ANY($1)`, [USERS]);
  const ent = new Map(ids.map((r) => [r.code, r.id]));
  const usr = new Map(users.map((r) => [r.username, r.id]));
  const pairs = SUBS.flatMap((s) => SUBS.filter((r) => r !== s).map((r) => [s, r] as const));
  const senders = pairs.map(([s]) => ent.get(s)!);
  const senderCodes = pairs.map(([s]) => s);
  const receivers = pairs.map(([, r]) => ent.get(r)!);
  const creators = pairs.map(([s]) => usr.get(`${s.toLowerCase()}.accountant`)!);
  const receiverAccs = pairs.map(([, r]) => usr.get(`${r.toLowerCase()}.accountant`)!);
  const chunk = 25_000;
  for (let from = 1; from <= n; from += chunk) {
    const to = Math.min(n, from + chunk - 1);
    await sql(
      url,
      `WITH src AS (
         SELECT g, 1 + g % 6 AS p, now() + ((g * 7919) % 4320 - 1440) * interval '1 minute' AS due
         FROM generate_series($1::int, $2::int) g
       ), ins AS (
         INSERT INTO "Transfer" (id, "workflowId", "senderEntityId", "receiverEntityId", type, "externalRef", quantity, unit, "unitPrice", amount, currency,
                                 "documentDate", period, memo, status, "createdById", "dueAt", level, "escalationLevel", "createdAt", "updatedAt")
         SELECT gen_random_uuid(), 'transfer:' || ($3::text[])[p] || ':INBOX-' || g, ($4::uuid[])[p], ($5::uuid[])[p], 'GOODS'::"TransferType", 'INBOX-' || g,
                (g % 97) + 1, 'PCS', 12.34, ((g % 97) + 1) * 12.34, 'CNY', DATE '2026-11-01' + (g % 28), '2026-11', '批量 inbox bench',
                'PENDING'::"TransferStatus", ($6::uuid[])[p], due, 0,
                CASE WHEN g % 20 BETWEEN 14 AND 16 THEN 1 WHEN g % 20 IN (17, 18) THEN 2 ELSE 0 END,
                due - interval '48 hours', due - interval '48 hours'
         FROM src
         RETURNING id, "workflowId", "receiverEntityId", "dueAt", "escalationLevel", "externalRef"
       )
       INSERT INTO "Task" (id, key, "transferId", kind, status, level, "escalationLevel", "assigneeId", "candidateEntityId", "candidateRole", "candidateGroupRole",
                           "dueAt", "createdAt", "updatedAt")
       SELECT tid, ins."workflowId" || ':task:' || tid, ins.id, 'CONFIRM'::"TaskKind", 'OPEN'::"TaskStatus", 0, ins."escalationLevel",
              CASE WHEN gm = 19 THEN ($7::uuid[])[1 + gi % 6] END,
              CASE WHEN gm <= 16 THEN ins."receiverEntityId" END,
              CASE WHEN gm <= 13 THEN 'ACCOUNTANT'::"EntityRole" WHEN gm <= 16 THEN 'SUPERVISOR'::"EntityRole" END,
              CASE WHEN gm IN (17, 18) THEN 'HQ_FINANCE'::"GroupRole" END,
              ins."dueAt", ins."dueAt" - interval '48 hours', ins."dueAt" - interval '48 hours'
       FROM ins, LATERAL (SELECT gen_random_uuid() AS tid, substr(ins."externalRef", 7)::int AS gi) x, LATERAL (SELECT gi % 20 AS gm) y`,
      [from, to, senderCodes, senders, receivers, creators, receiverAccs],
    );
  }
  // As autovacuum leaves a table that is mostly read: statistics, and the visibility map that
  // lets the inbox's index-only scans skip the table (VACUUM runs outside a transaction).
  await sql(url, 'VACUUM ANALYZE "Transfer"');
  await sql(url, 'VACUUM ANALYZE "Task"');
}

interface Captured {
  query: string;
  params: string;
}

/** A demo user as the inbox's statement (myTasksSql) takes it. */
export async function inboxActor(prisma: PrismaClient, username: string): Promise<Parameters<typeof myTasksSql>[0]> {
  const user = await prisma.user.findUniqueOrThrow({ where: { username }, include: { memberships: { include: { entity: true } } } });
  return {
    userId: user.id,
    groupRole: user.groupRole,
    memberships: user.memberships.map((m) => ({ entityId: m.entityId, role: m.role })),
    groupIds: [...new Set(user.memberships.map((m) => m.entity.groupId))],
  };
}

/** The statement GET /api/tasks runs for one user (api/my-tasks.ts), page 1 of 50. */
export async function inboxStatement(url: string, username: string): Promise<Captured[]> {
  const prisma = createPrisma(url, { max: 1 });
  try {
    const q = myTasksSql(await inboxActor(prisma, username), 1, 50, Date.now());
    return [{ query: q.text, params: JSON.stringify(q.values) }];
  } finally {
    await prisma.$disconnect();
  }
}

export /** Long id lists (IN (...) of a page) shortened for reading. */
function shorten(text: string): string {
  return text.replace(/(\{|\[)((?:"?[0-9a-f-]{36}"?,){3,})("?[0-9a-f-]{36}"?)(,[^\]}]*)?(\}|\])/g, (_m, open, ids: string, last, rest = '', close) => {
    const n = ids.split(',').length;
    return `${open}${ids.split(',')[0]}, … ${n} ids …, ${last}${rest}${close}`;
  });
}

export async function explain(url: string, q: Captured): Promise<{ text: string; ms: number }> {
  const params = JSON.parse(q.params) as unknown[];
  const rows = await sql<{ 'QUERY PLAN': string }>(url, `EXPLAIN (ANALYZE, BUFFERS) ${q.query}`, params);
  const text = rows.map((r) => r['QUERY PLAN']).join('\n');
  const ms = Number(text.match(/Execution Time: ([\d.]+) ms/)?.[1] ?? NaN);
  return { text, ms };
}

interface Cannon {
  result: autocannon.Result;
  /** Responses by their x-cache header (hit, shared, miss; none from the bare route). */
  cache: Record<string, number>;
}

function cannon(url: string, tokens: string[], connections: number, duration: number, headers: Record<string, string> = {}): Promise<Cannon> {
  const cache: Record<string, number> = {};
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections,
        duration,
        requests: [
          {
            method: 'GET',
            path: '/api/tasks',
            setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...headers, authorization: `Bearer ${tokens[Math.floor(Math.random() * tokens.length)]}` } }),
            onResponse: (_status, _body, _context, h) => {
              const k = String(h?.['x-cache'] ?? 'none');
              cache[k] = (cache[k] ?? 0) + 1;
            },
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve({ result, cache })),
    );
  });
}

/** Changes `perSecond` random open tasks every second (one transaction each) until stopped. */
function churn(url: string, perSecond: number): { stop(): Promise<number> } {
  const db = pgPool(url, 2);
  let changed = 0;
  let running = true;
  const loop = (async () => {
    const ids = (await db.query<{ id: string }>(`SELECT id FROM "Task" WHERE status = 'OPEN' ORDER BY random() LIMIT 2000`)).rows.map((r) => r.id);
    const t0 = Date.now();
    while (running) {
      const id = ids[changed % ids.length];
      await db.query(`UPDATE "Task" SET "dueAt" = "dueAt" + interval '1 millisecond', "updatedAt" = now() WHERE id = $1`, [id]);
      changed += 1;
      const ahead = t0 + (changed * 1000) / perSecond - Date.now();
      if (ahead > 0) await sleep(ahead);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await db.end();
      return changed;
    },
  };
}

const hitRate = (c: Cannon) => {
  const hits = c.cache.hit ?? 0;
  const total = Object.values(c.cache).reduce((a, b) => a + b, 0);
  return total ? `${round((100 * hits) / total, 1)} % (${hits} of ${total})` : 'n/a';
};

export async function run(): Promise<BenchResult> {
  const N = intEnv('INBOX_TASKS', 100_000);
  const CONN = intEnv('INBOX_CONNECTIONS', 50);
  const DURATION = intEnv('INBOX_DURATION_S', 30);
  const CHURN = intEnv('INBOX_CHURN_PER_S', 40);
  const startedAt = new Date().toISOString();
  const t00 = Date.now();
  return withStack('inbox', async (stack) => {
    const base = stack.apiUrl;
    const i0 = Date.now();
    await insertTasks(stack.ownerDatabaseUrl, N);
    const insertS = (Date.now() - i0) / 1000;
    const perUser: Record<string, string> = {};
    const tokens: string[] = [];
    let sampleBody = '';
    for (const u of USERS) {
      const token = await login(base, u);
      tokens.push(token);
      const page = await call(base, 'GET', '/api/tasks', { token }, [200]);
      perUser[u] = `${page.total}${page.totalCapped ? "+" : ""}`;
      if (!sampleBody || u === 'sz02.accountant') sampleBody = JSON.stringify(page);
    }

    // Query plans of what GET /api/tasks runs (for the accountant and for HQ finance).
    const notes: string[] = [];
    const queryMs: Record<string, number> = {};
    for (const u of ['sz02.accountant', 'hq.finance']) {
      const queries = await inboxStatement(stack.databaseUrl, u);
      for (const [k, q] of queries.entries()) {
        const plan = await explain(stack.ownerDatabaseUrl, q);
        queryMs[`${u} q${k + 1}`] = plan.ms;
        notes.push(`-- GET /api/tasks as ${u}, query ${k + 1} of ${queries.length} (${plan.ms} ms)\n${q.query}\n-- params ${shorten(q.params)}\n${shorten(plan.text)}`);
      }
    }

    // Warm up, then measure: the API as it is, reading through its cache, as it is while
    // tasks change; then the bare route with the same settings.
    await cannon(base, tokens, CONN, 3);
    const cpu0 = cpuByKind(stack.pid);
    const api = await cannon(base, tokens, CONN, DURATION);
    const cpu = cpuDelta(cpu0, cpuByKind(stack.pid));
    const perRequest = cpuPerItem(cpu, api.result.requests.total, 2);
    const cpu1 = cpuByKind(stack.pid);
    const through = await cannon(base, tokens, CONN, DURATION, { 'cache-control': 'no-cache' });
    const perRequestThrough = cpuPerItem(cpuDelta(cpu1, cpuByKind(stack.pid)), through.result.requests.total, 2);
    const writer = churn(stack.ownerDatabaseUrl, CHURN);
    let churned: Cannon;
    let changed: number;
    const c0 = Date.now();
    try {
      churned = await cannon(base, tokens, CONN, DURATION);
    } finally {
      changed = await writer.stop();
    }
    const churnRate = changed / ((Date.now() - c0) / 1000);
    const bodyFile = path.join(stack.dir, 'bare-body.json');
    fs.writeFileSync(bodyFile, sampleBody);
    const bare = await startHelperServer('bare-server.ts', { BARE_BODY_FILE: bodyFile });
    let baseline: Cannon;
    try {
      await cannon(bare.url, tokens, CONN, 3);
      baseline = await cannon(bare.url, tokens, CONN, DURATION);
    } finally {
      await bare.stop();
    }
    const b = baseline.result;
    const ratio = api.result.requests.average / b.requests.average;
    const errorsOf = (c: Cannon) => c.result.errors + c.result.timeouts + c.result.non2xx;
    const errors = errorsOf(api) + errorsOf(through) + errorsOf(churned);
    const line = (c: Cannon) =>
      `${round(c.result.requests.average)} req/s (${round(c.result.requests.average / b.requests.average, 3)}×), p50 ${c.result.latency.p50} ms, p99 ${c.result.latency.p99} ms, cache hits ${hitRate(c)}`;
    return {
      name: 'inbox',
      params: {
        'open tasks': N,
        connections: CONN,
        'duration (s)': DURATION,
        users: USERS.length,
        'response bytes (sz02.accountant page 1)': sampleBody.length,
        'task changes per second (churn run)': CHURN,
      },
      figures: {
        'insert (s)': round(insertS, 1),
        'open tasks per user': Object.entries(perUser).map(([u, n]) => `${u} ${n}`).join(', '),
        'req/s (mean)': round(api.result.requests.average),
        'latency p50 (ms)': api.result.latency.p50,
        'latency p99 (ms)': api.result.latency.p99,
        'latency max (ms)': api.result.latency.max,
        'cache hits': hitRate(api),
        'requests / errors (non-2xx, timeouts), all three runs': `${api.result.requests.total + through.result.requests.total + churned.result.requests.total} / ${errors}`,
        'CPU ms per request, by process (autocannon runs in the bench process)': perRequest,
        'read through the cache (Cache-Control: no-cache)': line(through),
        'read through: CPU ms per request, by process': perRequestThrough,
        [`while ${round(churnRate, 1)} tasks change per second`]: line(churned),
        'EXPLAIN ANALYZE execution (ms)': Object.entries(queryMs).map(([k, v]) => `${k} ${v}`).join(', '),
      },
      baseline: {
        'bare Fastify req/s (mean)': round(b.requests.average),
        'bare latency p50 / p99 (ms)': `${b.latency.p50} / ${b.latency.p99}`,
      },
      ratio: { name: 'API req/s ÷ bare Fastify req/s', value: ratio },
      targets: [
        { name: 'p99 < 50 ms', ok: api.result.latency.p99 < 50, detail: `${api.result.latency.p99} ms` },
        { name: '≥ 0.3× baseline req/s', ok: ratio >= 0.3, detail: `${round(ratio, 3)}×` },
        { name: 'no errors', ok: errors === 0, detail: `${errors}` },
      ],
      notes,
      startedAt,
      elapsedS: round((Date.now() - t00) / 1000, 1),
    };
  });
}
