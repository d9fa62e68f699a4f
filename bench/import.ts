// 3. Import: IMPORT_LINES lines (default 100,000) through POST /api/transfers/import in
// IMPORT_BATCH-line requests (default 10,000), until every workflow has its first task
// in the database: total time (target < 60 s). Baseline: the same number of bare
// workflow starts (bench/baseline-workflows.ts, done in their first workflow task) with
// the import's start concurrency, against the same dev server, in the same run.
import crypto from 'node:crypto';
import { withStack } from './lib/stack';
import { startBareWorker, temporalClient } from './lib/temporal';
import { bareStartWorkflow } from './baseline-workflows';
import { goodsLine } from '../tests/helpers/imports';
import { call, intEnv, login, pool, round, sleep, sql, type BenchResult } from './lib/util';

function line(tag: string, i: number) {
  return goodsLine({
    senderEntity: 'SH01',
    receiverEntity: i % 2 === 0 ? 'SZ02' : 'HK03',
    externalRef: `IMP-${tag}-${String(i + 1).padStart(6, '0')}`,
    i,
    memo: `批量导入 bench line ${i + 1}`,
  });
}

export async function run(): Promise<BenchResult> {
  const N = intEnv('IMPORT_LINES', 100_000);
  const BATCH = intEnv('IMPORT_BATCH', 10_000);
  const CONC = intEnv('IMPORT_CONCURRENCY', 1);
  const BARE = intEnv('IMPORT_BASELINE_STARTS', N);
  const BARE_CONC = intEnv('IMPORT_BASELINE_CONCURRENCY', 16);
  const LIMIT_S = intEnv('IMPORT_TIMEOUT_S', 3 * 3600);
  const startedAt = new Date().toISOString();
  const t00 = Date.now();
  return withStack('import', async (stack) => {
    const base = stack.apiUrl;
    const tag = crypto.randomBytes(3).toString('hex');

    // ---- the import ---------------------------------------------------------------
    const token = await login(base, 'sh01.accountant');
    const requests = Math.ceil(N / BATCH);
    const answers: number[] = [];
    let created = 0;
    const t0 = Date.now();
    let answeredAt = 0;
    const prefix = `transfer:SH01:IMP-${tag}-%`;
    const countTasks = async () =>
      (await sql<{ n: number }>(stack.ownerDatabaseUrl, `SELECT count(DISTINCT "transferId")::int AS n FROM "Task" WHERE key LIKE $1`, [prefix]))[0].n;
    const milestones: Array<{ at: number; tasks: number }> = [];
    // Workflows started (Temporal's visibility), beside the first tasks, every 10 s: shows
    // whether the first tasks wait for the starts or for the worker.
    const temporal = await temporalClient(stack.temporalAddress);
    const started: Array<{ at: number; started: number; tasks: number }> = [];
    const countStarted = async () => (await temporal.workflow.count(`WorkflowId STARTS_WITH "${prefix.slice(0, -1)}"`)).count;
    const sending = pool(requests, CONC, async (r) => {
      const lines = Array.from({ length: Math.min(BATCH, N - r * BATCH) }, (_, k) => line(tag, r * BATCH + k));
      const a0 = Date.now();
      const res = await call(base, 'POST', '/api/transfers/import', { token, body: { transfers: lines } }, [200, 202]);
      answers.push((Date.now() - a0) / 1000);
      if (res.failed) throw new Error(`import request ${r}: ${res.failed} lines failed: ${JSON.stringify(res.results?.find((x: { status: string }) => x.status === 'error'))}`);
      created += res.created;
    }).then(() => (answeredAt = Date.now()));
    // Follow the first tasks while the requests run and after.
    let tasks = 0;
    let nextMark = 0.1;
    let nextSample = 0;
    for (;;) {
      tasks = await countTasks();
      if (Date.now() - t0 >= nextSample) {
        started.push({ at: (Date.now() - t0) / 1000, started: await countStarted(), tasks });
        nextSample += 10_000;
      }
      if (tasks >= nextMark * N || tasks === N) {
        milestones.push({ at: (Date.now() - t0) / 1000, tasks });
        while (nextMark * N <= tasks) nextMark += 0.1;
      }
      if (tasks >= N) break;
      if ((Date.now() - t0) / 1000 > LIMIT_S) throw new Error(`only ${tasks} of ${N} workflows had their first task after ${LIMIT_S} s`);
      await sleep(500);
    }
    await sending;
    const totalS = (Date.now() - t0) / 1000;
    const rate = N / totalS;

    // ---- baseline: bare starts, the same server -----------------------------------
    const bare = await startBareWorker(stack.temporalAddress);
    const b0 = Date.now();
    await pool(BARE, BARE_CONC, async (i) => {
      const h = await temporal.workflow.start(bareStartWorkflow, { taskQueue: bare.taskQueue, workflowId: `bench-bare-start-${tag}-${i}` });
      await h.result();
    });
    const bareS = (Date.now() - b0) / 1000;
    const bareRate = BARE / bareS;
    await bare.stop();
    await temporal.connection.close();

    const ratio = rate / bareRate;
    return {
      name: 'import',
      params: { lines: N, 'lines per request': BATCH, 'requests in parallel': CONC, 'baseline starts': BARE, 'baseline start concurrency': BARE_CONC },
      figures: {
        'created': created,
        'all requests answered after (s)': round((answeredAt - t0) / 1000, 1),
        'request answer times (s)': answers.map((a) => round(a, 1)).join(', '),
        'every workflow has its first task after (s)': round(totalS, 1),
        'transfers/s (to first task)': round(rate, 1),
        'first tasks over time (s: count)': milestones.map((m) => `${round(m.at, 0)}: ${m.tasks}`).join(', '),
        'every 10 s (s: workflows started / with their first task)': started.map((m) => `${round(m.at, 0)}: ${m.started}/${m.tasks}`).join(', '),
      },
      baseline: {
        'bare starts/s (start + first task)': round(bareRate, 1),
        'bare total (s)': round(bareS, 1),
        'bare time for the same N (s, extrapolated)': round(N / bareRate, 1),
      },
      ratio: { name: 'import transfers/s ÷ bare starts/s', value: ratio },
      targets: [{ name: `${N} lines to first tasks < 60 s`, ok: totalS < 60, detail: `${round(totalS, 1)} s (bare starts alone: ${round(N / bareRate, 1)} s)` }],
      notes: [],
      startedAt,
      elapsedS: round((Date.now() - t00) / 1000, 1),
    };
  });
}
