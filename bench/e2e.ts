// 1. End-to-end throughput: N transfers created through the API by concurrent clients
// and confirmed through the API by the receivers' users, until all are CONFIRMED in the
// database. Baseline: a bare workflow that waits for one Update and completes, started
// and updated by the same number of clients against the same dev server.
import crypto from 'node:crypto';
import { withStack } from './lib/stack';
import { cpuByKind, cpuDelta, cpuPerItem } from './lib/cpu';
import { startBareWorker, temporalClient } from './lib/temporal';
import { bareUpdate, bareUpdateWorkflow } from './baseline-workflows';
import { call, http, intEnv, login, pgPool, pool, round, sleep, sql, summary, until, type BenchResult } from './lib/util';

/** Sender → receiver pairs of the demo group (GOODS, small amounts: the SINGLE accountant policy). */
const PAIRS = [
  { sender: 'SH01', receiver: 'SZ02' },
  { sender: 'SZ02', receiver: 'HK03' },
  { sender: 'HK03', receiver: 'SH01' },
] as const;

export async function run(): Promise<BenchResult> {
  const N = intEnv('E2E_TRANSFERS', 2000);
  const C = intEnv('E2E_CLIENTS', 20);
  const LIGHT_N = intEnv('E2E_LIGHT_TRANSFERS', 200, 0);
  const LIGHT_C = intEnv('E2E_LIGHT_CLIENTS', 2);
  const startedAt = new Date().toISOString();
  const t00 = Date.now();
  return withStack('e2e', async (stack) => {
    const base = stack.apiUrl;
    const temporal = await temporalClient(stack.temporalAddress);

    // ---- baseline: bare workflows, one Update each, same clients -----------------
    // Measured before the transfers and again after them: the first run also warms up the
    // clients and the bare worker, and the machine's speed drifts over a run, so one run
    // alone can be off by a fifth either way. The ratio uses both runs together.
    const tag = crypto.randomBytes(3).toString('hex');
    const runBare = async (taskQueue: string, n: number, clients: number, name: string) => {
      const latency: number[] = [];
      await pool(n, clients, async (i) => {
        const h = await temporal.workflow.start(bareUpdateWorkflow, { taskQueue, workflowId: `bench-bare-${tag}-${name}-${i}` });
        const u0 = performance.now();
        await h.executeUpdate(bareUpdate, { args: [`ok-${i}`] });
        latency.push(performance.now() - u0);
        await h.result();
      });
      return latency;
    };
    const measureBare = async (name: 'before' | 'after') => {
      const bare = await startBareWorker(stack.temporalAddress);
      try {
        const cpu0 = cpuByKind(stack.pid);
        const t0 = Date.now();
        const latency = summary(await runBare(bare.taskQueue, N, C, name));
        const s = (Date.now() - t0) / 1000;
        const cpu = cpuDelta(cpu0, cpuByKind(stack.pid));
        const light = name === 'before' && LIGHT_N > 0 ? summary(await runBare(bare.taskQueue, LIGHT_N, LIGHT_C, 'light')) : null;
        return { s, rate: N / s, latency, cpu, light };
      } finally {
        await bare.stop();
      }
    };
    const bareBefore = await measureBare('before');

    // ---- the real thing -----------------------------------------------------------
    const tokens: Record<string, string> = {};
    for (const code of ['SH01', 'SZ02', 'HK03']) tokens[code] = await login(base, `${code.toLowerCase()}.accountant`);
    const db = pgPool(stack.ownerDatabaseUrl, 4);
    let retries = 0;
    /** n transfers by `clients` clients: created, confirmed once their task is there, until CONFIRMED is visible. */
    const runTransfers = async (n: number, clients: number, prefix: string) => {
      const confirmLatency: number[] = [];
      const taskLatency: number[] = [];
      await pool(n, clients, async (i) => {
        const pair = PAIRS[i % PAIRS.length];
        const q = (i % 50) + 1;
        const amount = (q * 12.5).toFixed(2);
        const created = await call(base, 'POST', '/api/transfers', {
          token: tokens[pair.sender],
          body: {
            senderEntity: pair.sender,
            receiverEntity: pair.receiver,
            type: 'GOODS',
            externalRef: `${prefix}${String(i).padStart(6, '0')}`,
            quantity: String(q),
            unit: 'PCS',
            unitPrice: '12.5',
            amount,
            currency: 'CNY',
            documentDate: '2026-11-20',
            period: '2026-11',
            memo: 'bench e2e',
          },
        });
        const rToken = tokens[pair.receiver];
        // The receiver acts once its task is there (what its inbox would show). Watched in
        // the database, so that waiting adds no API load of its own.
        const c0 = performance.now();
        await until('the confirmation task', async () => (await db.query(`SELECT 1 FROM "Task" WHERE "transferId" = $1 AND status = 'OPEN'`, [created.id])).rowCount! > 0, 120_000, 25);
        taskLatency.push(performance.now() - c0);
        const receipt = { receiptRef: `GR-${i}`, quantity: String(q), unitPrice: '12.5', amount, date: '2026-11-21' };
        for (;;) {
          const start = performance.now();
          const r = await http(base, 'POST', `/api/transfers/${created.id}/confirm`, { token: rToken, body: receipt });
          if (r.status === 409 || r.status === 503) {
            retries++;
            await sleep(50);
            continue;
          }
          if (r.status !== 200) throw new Error(`confirm: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
          await until('CONFIRMED in GET /api/transfers/:id', async () => {
            const g = await http(base, 'GET', `/api/transfers/${created.id}`, { token: rToken });
            return g.status === 200 && g.body.status === 'CONFIRMED';
          }, 60_000, 10);
          confirmLatency.push(performance.now() - start);
          break;
        }
      });
      return { confirmLatency, taskLatency };
    };
    const prefix = `E2E-${tag}-`;
    const cpu0 = cpuByKind(stack.pid);
    const t0 = Date.now();
    const { confirmLatency, taskLatency } = await runTransfers(N, C, prefix);
    await until('every transfer CONFIRMED in the database', async () => {
      const [{ n }] = await sql(stack.ownerDatabaseUrl, `SELECT count(*)::int AS n FROM "Transfer" WHERE "externalRef" LIKE $1 AND status = 'CONFIRMED'`, [`${prefix}%`]);
      return n === N;
    }, 300_000, 100);
    const realS = (Date.now() - t0) / 1000;
    const cpu = cpuDelta(cpu0, cpuByKind(stack.pid));
    const bareAfter = await measureBare('after');
    // The same path at light load: what a user waits for when the machine is not saturated.
    const light = LIGHT_N > 0 ? summary((await runTransfers(LIGHT_N, LIGHT_C, `E2E-${tag}-light-`)).confirmLatency) : null;
    await db.end();
    const rate = N / realS;
    const bareRate = (2 * N) / (bareBefore.s + bareAfter.s);
    await temporal.connection.close();

    const lat = summary(confirmLatency);
    const task = summary(taskLatency);
    const ratio = rate / bareRate;
    return {
      name: 'e2e',
      params: { transfers: N, clients: C, pairs: PAIRS.map((p) => `${p.sender}→${p.receiver}`).join(', ') },
      figures: {
        'total time (s)': round(realS, 2),
        'transfers/s (created → CONFIRMED in DB)': round(rate, 2),
        'confirm → visible p50 (ms)': round(lat.p50),
        'confirm → visible p95 (ms)': round(lat.p95),
        'confirm → visible p99 (ms)': round(lat.p99),
        'confirm → visible max (ms)': round(lat.max),
        'create answered → first task in the DB p50/p95 (ms)': `${round(task.p50)} / ${round(task.p95)}`,
        'confirm retries (409/503)': retries,
        'CPU ms per transfer, by process': cpuPerItem(cpu, N),
        ...(light ? { [`light load (${LIGHT_N} transfers, ${LIGHT_C} clients): confirm → visible p50/p95/p99 (ms)`]: `${round(light.p50)} / ${round(light.p95)} / ${round(light.p99)}` } : {}),
      },
      baseline: {
        'bare workflows/s (start + Update + complete), before and after the transfers together': round(bareRate, 2),
        ...Object.fromEntries(
          ([['before', bareBefore], ['after', bareAfter]] as const).flatMap(([when, b]) => [
            [`${when}: bare workflows/s; total time (s)`, `${round(b.rate, 2)}; ${round(b.s, 2)}`],
            [`${when}: bare Update p50/p95/p99 (ms)`, `${round(b.latency.p50)} / ${round(b.latency.p95)} / ${round(b.latency.p99)}`],
            [`${when}: CPU ms per bare workflow, by process`, cpuPerItem(b.cpu, N)],
          ]),
        ),
        ...(bareBefore.light ? { [`light load (${LIGHT_N} bare, ${LIGHT_C} clients): Update p50/p95/p99 (ms)`]: `${round(bareBefore.light.p50)} / ${round(bareBefore.light.p95)} / ${round(bareBefore.light.p99)}` } : {}),
      },
      ratio: { name: 'transfers/s ÷ bare workflows/s (before and after)', value: ratio },
      targets: [
        { name: '≥ 0.5× baseline rate', ok: ratio >= 0.5, detail: `${round(ratio, 3)}×` },
        { name: 'p95 confirm → visible < 300 ms', ok: lat.p95 < 300, detail: `${round(lat.p95)} ms` },
      ],
      notes: [],
      startedAt,
      elapsedS: round((Date.now() - t00) / 1000, 1),
    };
  });
}
