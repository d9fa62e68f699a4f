// 5. Worker memory: MEMORY_TRANSFERS transfers (default 10,000) whose workflows wait on
// their 48-hour deadline, run by the project's worker in a process of its own
// (bench/lib/memory-worker.ts) so its RSS and the SDK's workflow cache can be read over
// time. Then MEMORY_QUERIES state queries to random transfers (each one of an evicted
// workflow replays it into the cache, evicting another) show the cache churning within
// its bound. Baseline: the same worker process idle, before the first workflow.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { spawn } from 'node:child_process';
import { stateQuery } from '../workflows/messages';
import { transferWorkflow } from '../workflows/transfer';
import { withStack, ROOT } from './lib/stack';
import { temporalClient } from './lib/temporal';
import { intEnv, mb, pool, round, sleep, sql, until, type BenchResult } from './lib/util';

interface Sample {
  t: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  cached: number;
  activations: number;
  activities: number;
}

/** maxCachedWorkflows of activities/worker.ts (read from the source, so the report states what ran). */
function cacheSize(): number {
  const src = fs.readFileSync(path.join(ROOT, 'activities', 'worker.ts'), 'utf8');
  return Number(src.match(/maxCachedWorkflows:\s*([\d_]+)/)?.[1]?.replace(/_/g, '') ?? NaN);
}

async function insertTransfers(url: string, tag: string, n: number): Promise<Array<{ id: string; workflowId: string }>> {
  const ids = await sql<{ code: string; id: string }>(url, `SELECT code, id FROM "Entity" WHERE code = ANY($1)`, [['SH01', 'SZ02', 'HK03']]);
  const ent = new Map(ids.map((r) => [r.code, r.id]));
  const [creator] = await sql<{ id: string }>(url, `SELECT id FROM "User" WHERE username = 'sh01.accountant'`);
  return sql(
    url,
    `INSERT INTO "Transfer" (id, "workflowId", "senderEntityId", "receiverEntityId", type, "externalRef", quantity, unit, "unitPrice", amount, currency,
                             "documentDate", period, memo, status, "createdById", "dueAt", "createdAt", "updatedAt")
     SELECT gen_random_uuid(), 'transfer:SH01:' || $1 || '-' || g, $2::uuid, CASE WHEN g % 2 = 0 THEN $3::uuid ELSE $4::uuid END, 'GOODS'::"TransferType", $1 || '-' || g,
            (g % 97) + 1, 'PCS', 12.34, ((g % 97) + 1) * 12.34, 'CNY', DATE '2026-11-20', '2026-11', 'worker memory bench',
            'PENDING'::"TransferStatus", $5::uuid, now() + interval '48 hours', now(), now()
     FROM generate_series(1, $6::int) g
     RETURNING id, "workflowId"`,
    [`MEM-${tag}`, ent.get('SH01'), ent.get('SZ02'), ent.get('HK03'), creator.id, n],
  );
}

export async function run(): Promise<BenchResult> {
  const N = intEnv('MEMORY_TRANSFERS', 10_000);
  const CONC = intEnv('MEMORY_START_CONCURRENCY', 16);
  const QUERIES = intEnv('MEMORY_QUERIES', 2000);
  const HOLD_S = intEnv('MEMORY_HOLD_S', 30);
  const LIMIT_S = intEnv('MEMORY_TIMEOUT_S', 3 * 3600);
  const startedAt = new Date().toISOString();
  const t00 = Date.now();
  return withStack('worker-memory', async (stack) => {
    const tag = crypto.randomBytes(3).toString('hex');
    const taskQueue = `bench-memory-${tag}`;

    // The worker, alone in its process, on a task queue of its own.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'lib', 'memory-worker.ts')], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS: stack.temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'warn', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const samples: Sample[] = [];
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        samples.push(JSON.parse(l));
      } catch {
        /* a log line */
      }
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    try {
      await until('the bench worker', async () => samples.length >= 3, 120_000, 250);
      // Idle baseline: a few seconds of the started worker with nothing to do.
      await sleep(5000);
      const idle = samples.slice(-3);
      const idleRss = Math.max(...idle.map((s) => s.rss));
      const idleHeap = Math.max(...idle.map((s) => s.heapUsed));

      const rows = await insertTransfers(stack.ownerDatabaseUrl, tag, N);
      const temporal = await temporalClient(stack.temporalAddress);
      const marks: Array<{ label: string; s: Sample; tasks: number }> = [];
      const latest = () => samples[samples.length - 1];
      const countTasks = async () =>
        (await sql<{ n: number }>(stack.ownerDatabaseUrl, `SELECT count(*)::int AS n FROM "Task" WHERE key LIKE $1`, [`transfer:SH01:MEM-${tag}-%`]))[0].n;
      const s0 = Date.now();
      let next = 0.1;
      const starting = pool(rows.length, CONC, async (i) => {
        await temporal.workflow.start(transferWorkflow, { taskQueue, workflowId: rows[i].workflowId, args: [{ transferId: rows[i].id }] });
      });
      let tasks = 0;
      for (;;) {
        tasks = await countTasks();
        if (tasks >= next * N) {
          marks.push({ label: `${Math.round((tasks / N) * 100)} % waiting`, s: latest(), tasks });
          while (next * N <= tasks) next += 0.1;
        }
        if (tasks >= N) break;
        if (child.exitCode !== null) throw new Error(`the bench worker exited (${child.exitCode})`);
        if ((Date.now() - s0) / 1000 > LIMIT_S) throw new Error(`only ${tasks} of ${N} workflows waiting after ${LIMIT_S} s`);
        await sleep(1000);
      }
      await starting;
      const startS = (Date.now() - s0) / 1000;
      const peakWhileStarting = samples.filter((s) => s.t >= s0).reduce((a, s) => Math.max(a, s.rss), 0);

      // All waiting: hold, then churn the cache with queries.
      await sleep(HOLD_S * 1000);
      const held = latest();
      marks.push({ label: `all waiting, +${HOLD_S} s`, s: held, tasks });
      const q0 = Date.now();
      await pool(QUERIES, CONC, async () => {
        const r = rows[Math.floor(Math.random() * rows.length)];
        await temporal.workflow.getHandle(r.workflowId).query(stateQuery);
      });
      const queryS = (Date.now() - q0) / 1000;
      await sleep(2000);
      const churned = latest();
      marks.push({ label: `after ${QUERIES} queries`, s: churned, tasks });
      await temporal.connection.close();

      const all = samples.filter((s) => s.t >= s0);
      const peak = all.reduce((a, s) => (s.rss > a.rss ? s : a), all[0]);
      const maxCached = Math.max(...all.map((s) => s.cached));
      const bound = cacheSize();
      const table = ['label                          tasks   RSS MB  heap MB  cached'];
      table.push(`${'idle (baseline)'.padEnd(30)} ${String(0).padStart(6)} ${String(mb(idleRss)).padStart(8)} ${String(mb(idleHeap)).padStart(8)} ${String(idle[idle.length - 1].cached).padStart(7)}`);
      for (const m of marks) table.push(`${m.label.padEnd(30)} ${String(m.tasks).padStart(6)} ${String(mb(m.s.rss)).padStart(8)} ${String(mb(m.s.heapUsed)).padStart(8)} ${String(m.s.cached).padStart(7)}`);
      // Per cached workflow: the growth from idle to the cache filling up.
      const full = all.find((s) => s.cached >= Math.min(bound, N));
      const perWorkflowKb = full ? (full.rss - idleRss) / 1024 / Math.max(1, full.cached) : NaN;
      const rssRatio = peak.rss / idleRss;
      const grewAfterFull = full ? mb(churned.rss - full.rss) : NaN;
      // Bounded: once the cache is full, the second half of the run never goes more than
      // 10 % above the first half's highest RSS (the garbage collector makes it swing).
      const after = full ? all.filter((s) => s.t >= full.t) : [];
      const mid = after.length ? after[0].t + (after[after.length - 1].t - after[0].t) / 2 : 0;
      const firstMax = Math.max(...after.filter((s) => s.t < mid).map((s) => s.rss));
      const secondMax = Math.max(...after.filter((s) => s.t >= mid).map((s) => s.rss));
      const bounded = after.length > 10 && secondMax <= firstMax * 1.1;
      return {
        name: 'worker-memory',
        params: { 'waiting transfers': N, 'start concurrency': CONC, 'hold (s)': HOLD_S, 'random queries': QUERIES, maxCachedWorkflows: bound },
        figures: {
          'all waiting on their deadline after (s)': round(startS, 1),
          'worker RSS: idle → peak → end (MB)': `${mb(idleRss)} → ${mb(peak.rss)} → ${mb(churned.rss)}`,
          'peak RSS while starting (MB)': mb(peakWhileStarting),
          'heap used at end (MB)': mb(churned.heapUsed),
          'cached workflows: max / end': `${maxCached} / ${churned.cached}`,
          'RSS growth per cached workflow (KB, idle → cache full)': round(perWorkflowKb, 0),
          'RSS when the cache filled → end (MB)': full ? `${mb(full.rss)} → ${mb(churned.rss)} (${grewAfterFull >= 0 ? '+' : ''}${grewAfterFull})` : 'cache never filled',
          [`${QUERIES} queries took (s)`]: round(queryS, 1),
        },
        baseline: { 'idle worker RSS (MB)': mb(idleRss), 'idle heap used (MB)': mb(idleHeap) },
        ratio: { name: 'peak RSS ÷ idle RSS', value: rssRatio },
        targets: [
          { name: `cache ≤ maxCachedWorkflows (${bound})`, ok: maxCached <= bound, detail: `max ${maxCached}` },
          {
            name: 'RSS bounded once the cache is full',
            ok: bounded,
            detail: after.length > 10 ? `highest RSS, first half ${mb(firstMax)} MB, second half ${mb(secondMax)} MB (≤ +10 %)` : `cache never filled (N < ${bound})`,
          },
        ],
        notes: [`worker RSS over the run:\n${table.join('\n')}`],
        data: { idle, samples: all },
        startedAt,
        elapsedS: round((Date.now() - t00) / 1000, 1),
      };
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
  });
}
