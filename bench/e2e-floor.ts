// Diagnostic for benchmark 1 (e2e): how fast can ANY durable confirmation go on this
// stack? The floor workflow (bench/baseline-workflows.ts) does the least a confirmation
// that the database must show can do: a row written when it starts (local activity), the
// Update's decision written to that row, completion; no API, no Prisma, one statement per
// write, started and updated by the same clients as e2e's bare baseline. Two variants of
// the decision's write: an ordinary activity (what the transfer workflow does) and a local
// activity inside the Update's workflow task (the lever left open in docs/benchmarks.md).
// Then both variants again, driven as e2e drives transfers, through the least an HTTP API
// can be (bench/lib/floor-http-server.ts, a process of its own: JWT verified, one Temporal
// call or one statement per request) by clients that create, wait for the row in the
// database, confirm and read until CONFIRMED is visible.
// Each one's rate against the bare workflow's, measured in the same run: a design of that
// shape (for the HTTP runs: behind any API) cannot do better than its floor, so e2e's
// ≥ 0.5× leaves the product's own work only the room between a floor and 0.5×.
import crypto from 'node:crypto';
import { createSigner } from 'fast-jwt';
import { withStack } from './lib/stack';
import { cpuByKind, cpuDelta, cpuPerItem } from './lib/cpu';
import { startBareWorker, temporalClient } from './lib/temporal';
import { bareUpdate, bareUpdateWorkflow, floorConfirm, floorWorkflow } from './baseline-workflows';
import { createFloorActivities, FLOOR_TABLE_SQL } from './lib/floor-activities';
import { startHelperServer } from './lib/helper-server';
import { call, http, intEnv, pgPool, pool, round, summary, until, type BenchResult } from './lib/util';

export async function run(): Promise<BenchResult> {
  const N = intEnv('E2E_TRANSFERS', 2000);
  const C = intEnv('E2E_CLIENTS', 20);
  const startedAt = new Date().toISOString();
  const t00 = Date.now();
  return withStack('e2e-floor', async (stack) => {
    const temporal = await temporalClient(stack.temporalAddress);
    const db = pgPool(stack.ownerDatabaseUrl, 10);
    await db.query(FLOOR_TABLE_SQL);
    const worker = await startBareWorker(stack.temporalAddress, createFloorActivities(db));
    const tag = crypto.randomBytes(3).toString('hex');
    type Phase = { rate: number; cpu: string; p50: number; p95: number };
    const measure = async (one: (i: number) => Promise<void>): Promise<Phase> => {
      const latency: number[] = [];
      const cpu0 = cpuByKind(stack.pid);
      const t0 = Date.now();
      await pool(N, C, async (i) => {
        const u0 = performance.now();
        await one(i);
        latency.push(performance.now() - u0);
      });
      const s = (Date.now() - t0) / 1000;
      const l = summary(latency);
      return { rate: N / s, cpu: cpuPerItem(cpuDelta(cpu0, cpuByKind(stack.pid)), N), p50: l.p50, p95: l.p95 };
    };
    try {
      // The baseline before the floors and again after them (the first run also warms up the
      // clients and the worker, and the machine drifts); the ratios use both runs together.
      const runBare = (when: string) =>
        measure(async (i) => {
          const h = await temporal.workflow.start(bareUpdateWorkflow, { taskQueue: worker.taskQueue, workflowId: `bench-floor-bare-${tag}-${when}-${i}` });
          await h.executeUpdate(bareUpdate, { args: [`ok-${i}`] });
          await h.result();
        });
      const bareBefore = await runBare('before');
      const floor = (decisionLocal: boolean) =>
        measure(async (i) => {
          const id = `${tag}-${decisionLocal ? 'l' : 'a'}-${i}`;
          const h = await temporal.workflow.start(floorWorkflow, { taskQueue: worker.taskQueue, workflowId: `bench-floor-${id}`, args: [id, decisionLocal] });
          await h.executeUpdate(floorConfirm, { args: [`ok-${i}`] });
          await h.result();
        });
      const activity = await floor(false);
      const localDecision = await floor(true);
      // Through the least an API can be, with e2e's clients.
      const secret = crypto.randomBytes(32).toString('hex');
      const token = createSigner({ key: secret, expiresIn: 3_600_000 })({ sub: 'bench' });
      const api = await startHelperServer('floor-http-server.ts', {
        TEMPORAL_ADDRESS: stack.temporalAddress,
        FLOOR_TASK_QUEUE: worker.taskQueue,
        FLOOR_DATABASE_URL: stack.ownerDatabaseUrl,
        FLOOR_JWT_SECRET: secret,
      });
      // Both decision variants through HTTP; each run's confirm → CONFIRMED visible latencies.
      const viaHttp = async (decisionLocal: boolean) => {
        const visible: number[] = [];
        const phase = await measure(async (i) => {
          const id = `${tag}-h${decisionLocal ? 'l' : 'a'}-${i}`;
          await call(api.url, 'POST', '/floor', { token, body: { id, decisionLocal } });
          await until('the floor row', async () => (await db.query(`SELECT 1 FROM bench_floor WHERE id = $1`, [id])).rowCount! > 0, 120_000, 25);
          const c0 = performance.now();
          await call(api.url, 'POST', `/floor/${id}/confirm`, { token, body: { value: `ok-${i}` } });
          await until('CONFIRMED through GET /floor/:id', async () => {
            const g = await http(api.url, 'GET', `/floor/${id}`, { token });
            return g.status === 200 && g.body.status === 'CONFIRMED';
          }, 60_000, 10);
          visible.push(performance.now() - c0);
        });
        return { ...phase, visible: summary(visible) };
      };
      let httpActivity: Awaited<ReturnType<typeof viaHttp>>;
      let httpLocal: Awaited<ReturnType<typeof viaHttp>>;
      try {
        httpActivity = await viaHttp(false);
        httpLocal = await viaHttp(true);
      } finally {
        await api.stop();
      }
      const bareAfter = await runBare('after');
      const bare = { rate: (2 * bareBefore.rate * bareAfter.rate) / (bareBefore.rate + bareAfter.rate) }; // 2N over both runs' time
      const [{ n }] = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM bench_floor WHERE id LIKE $1 AND status = 'CONFIRMED'`, [`${tag}-%`])).rows;
      const line = (p: Phase) => `${round(p.rate, 2)}/s (${round(p.rate / bare.rate, 3)}×), start→completed p50 ${round(p.p50)} ms, p95 ${round(p.p95)} ms; CPU ms each: ${p.cpu}`;
      return {
        name: 'e2e-floor',
        params: { workflows: N, clients: C },
        figures: {
          'floor: decision written by an activity (as the transfer workflow)': line(activity),
          'floor: decision written by a local activity in the Update’s workflow task': line(localDecision),
          ...Object.fromEntries(
            ([['an activity', httpActivity], ['a local activity', httpLocal]] as const).flatMap(([how, p]) => [
              [`through the least an HTTP API can be (e2e’s clients: create, row seen, confirm, GET until CONFIRMED), decision by ${how}`, line(p)],
              [`through HTTP, decision by ${how}: confirm → CONFIRMED visible p50/p95/p99 (ms)`, `${round(p.visible.p50)} / ${round(p.visible.p95)} / ${round(p.visible.p99)}`],
            ]),
          ),
          'rows CONFIRMED (must be 4 × workflows)': n,
        },
        baseline: {
          'bare workflows/s (start + Update + complete), before and after the floors together': round(bare.rate, 2),
          'before: bare workflows': line(bareBefore),
          'after: bare workflows': line(bareAfter),
        },
        ratio: { name: 'floor through HTTP (decision by a local activity, the faster) ÷ bare', value: httpLocal.rate / bare.rate },
        targets: [{ name: 'every floor workflow wrote its confirmation', ok: n === 4 * N, detail: `${n} of ${4 * N}` }],
        notes: [],
        startedAt,
        elapsedS: round((Date.now() - t00) / 1000, 1),
      };
    } finally {
      await worker.stop();
      await temporal.connection.close();
      await db.end();
    }
  });
}
