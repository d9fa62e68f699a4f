// Fault tests 1–3 on a stack of separate processes (tests/faults/harness.ts):
//   1. kill -9 the worker at random moments while transfers move through creation,
//      confirmation, escalation, dispute and arbitration; restart it;
//   2. kill -9 PostgreSQL in the middle of a run: the API answers 503 naming the
//      database (never a 500), activities retry, nothing is lost;
//   3. kill -9 the Temporal dev server (SQLite file) in the middle of a run: the
//      workflows resume and their timers (reminder, escalations) fire after the restart.
// Each run ends with the database check of scenario.ts: every transfer in its planned
// final state, with exactly the expected audit rows, tasks and notification events.
//
// Sizes (env): FAULT_TRANSFERS (worker kills run, default 20), FAULT_WORKER_KILLS
// (default 1), FAULT_RESTART_TRANSFERS (PostgreSQL and Temporal runs, default 10),
// FAULT_DOWN_MS (how long PostgreSQL / Temporal stay down, default 6000).
// `npm run test:faults` runs them with 200 transfers and 5 kills (tests/faults/heavy-env.ts).
import { FaultStack } from './harness';
import { report, run, setUp, sleep, verify, type ApiClient } from './scenario';

const num = (name: string, dflt: number) => (process.env[name] ? Number(process.env[name]) : dflt);
const TRANSFERS = num('FAULT_TRANSFERS', 20);
const KILLS = num('FAULT_WORKER_KILLS', 1);
const RESTART_TRANSFERS = num('FAULT_RESTART_TRANSFERS', 10);
const DOWN_MS = num('FAULT_DOWN_MS', 6000);
const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

let stack: FaultStack;
beforeAll(async () => {
  stack = await FaultStack.start({ name: 'processes' });
}, 240_000);
afterAll(async () => {
  await stack?.close();
}, 120_000);

/** Everything must be up at the start of each scenario. */
afterEach(async () => {
  for (const p of stack.parts) if (!p.running) await p.start();
}, 240_000);

/** The error the API logged for a request (its log is in artifacts/faults/). */
function loggedCause(s: FaultStack, requestId: string): string {
  for (const line of s.api.logText().split('\n')) {
    if (!line.includes(requestId) || !line.includes('"err"')) continue;
    try {
      return JSON.parse(line).err.message as string;
    } catch {
      /* not JSON */
    }
  }
  return '(not in the log)';
}

/**
 * Every 500 the run got, with the cause the API logged: there must be none. (Actions that
 * reach a workflow before it is routed wait for it: workflows/transfer.ts registers
 * stand-in handlers first; an action during a workflow-task retry answers 503.)
 */
function internalErrors(api: ApiClient) {
  const all = api.errors500.map((e) => ({ ...e, cause: loggedCause(stack, e.requestId) }));
  return { all, unexplained: all, summary: all.map((e) => `${e.call}: ${e.cause}`) };
}

function statuses(api: ApiClient) {
  return Object.fromEntries([...api.statuses].sort(([a], [b]) => a - b));
}

describe('kill -9 of the worker', () => {
  it(`${TRANSFERS} transfers reach their final state through ${KILLS} worker kill(s), with no duplicate rows`, async () => {
    const { api, db, slow, fast } = await setUp(stack);
    try {
      const t0 = Date.now();
      const r = run({ api, db, slow, fast, count: TRANSFERS, concurrency: 8 });
      let finished = false;
      void r.done.then(() => (finished = true), () => (finished = true));
      const kills: Array<{ atMs: number; inFlight: number; downMs: number; workerStartMs: number; readyAt: number }> = [];
      for (let k = 0; k < KILLS && !finished; k++) {
        await sleep(rand(1000, 5000));
        if (finished) break;
        const inFlight = TRANSFERS - r.progress();
        await stack.worker.kill('SIGKILL');
        const killedAt = Date.now();
        await sleep(rand(0, 3000));
        const workerStartMs = await stack.worker.start();
        kills.push({ atMs: killedAt - t0, inFlight, downMs: Date.now() - killedAt - workerStartMs, workerStartMs, readyAt: Date.now() });
      }
      await r.done;
      const totalMs = Date.now() - t0;
      const verdict = await verify(db, r.planned);
      // Recovery: from the kill until the first workflow step the new worker wrote.
      const recovery: Array<number | null> = [];
      for (const k of kills) {
        const [row] = await db.rows(`SELECT min(at) AS at FROM "AuditEvent" WHERE at > to_timestamp($1 / 1000.0) AND action <> 'TRANSFER_CREATED'`, [k.readyAt]);
        recovery.push(row.at ? new Date(row.at).getTime() - (t0 + k.atMs) : null);
      }
      const errors500 = internalErrors(api);
      report('worker-kill', { transfers: TRANSFERS, kills: kills.map(({ readyAt, ...k }, i) => ({ ...k, recoveredMs: recovery[i] })), totalMs, ...verdict.counts, httpStatuses: statuses(api), internalErrors: errors500.summary });
      expect(kills.length).toBeGreaterThanOrEqual(1);
      expect(kills.every((k) => k.inFlight > 0)).toBe(true);
      expect(verdict.wrong).toEqual([]);
      expect(errors500.unexplained).toEqual([]);
    } finally {
      await db.close();
    }
  }, 900_000);
});

/** The main endpoints, as a user would call them, while a dependency is down. */
/** Probes wait this long for an answer (the API's Temporal client retries a while). */
const LONG = 120_000;

async function probe(api: ApiClient, tokens: { sender: string; receiver: string }, fx: { sender: { code: string }; receiver: { code: string } }, transferId: string) {
  const calls: Array<[string, () => Promise<{ status: number; body: any }>]> = [
    ['POST /api/auth/login', () => api.call('POST', '/api/auth/login', undefined, { username: 'nobody.here', password: 'x' }, LONG)],
    ['GET /api/tasks', () => api.call('GET', '/api/tasks', tokens.receiver, undefined, LONG)],
    ['GET /api/transfers', () => api.call('GET', '/api/transfers', tokens.sender, undefined, LONG)],
    ['GET /api/transfers/:id', () => api.call('GET', `/api/transfers/${transferId}`, tokens.sender, undefined, LONG)],
    [
      'POST /api/transfers',
      () =>
        api.call('POST', '/api/transfers', tokens.sender, {
          senderEntity: fx.sender.code, receiverEntity: fx.receiver.code, type: 'SERVICE', externalRef: `PROBE-${Date.now()}-${Math.random()}`,
          amount: '10.00', currency: 'CNY', documentDate: '2026-11-18', period: '2026-11',
        }, LONG),
    ],
    ['POST /api/transfers/:id/confirm', () => api.call('POST', `/api/transfers/${transferId}/confirm`, tokens.receiver, { receiptRef: 'GR-P', quantity: '4', unitPrice: '25.125', amount: '100.50', date: '2026-11-19' }, LONG)],
    ['GET /readyz', () => api.call('GET', '/readyz', undefined, undefined, LONG)],
  ];
  // All at once: a call that waits for a dependency does not hold up the others.
  const out = await Promise.all(
    calls.map(async ([call, fn]) => {
      const startedAt = Date.now();
      const r = await fn();
      return { call, status: r.status, body: r.body, startedAt, answeredAt: Date.now() };
    }),
  );
  return out;
}

describe('PostgreSQL restart', () => {
  it(`${RESTART_TRANSFERS} transfers survive PostgreSQL going down mid-run; the API answers 503 naming the database meanwhile`, async () => {
    const { api, db, slow, fast } = await setUp(stack);
    try {
      const t0 = Date.now();
      // A transfer to probe with while the database is down (created while it is up).
      const probeRun = run({ api, db, slow, fast, count: 1, paths: ['dispute'] });
      await probeRun.done;
      const probeId = probeRun.planned[0].id!;
      const r = run({ api, db, slow, fast, count: RESTART_TRANSFERS, concurrency: 5 });
      await sleep(2500); // transfers in flight; the escalating ones' timers come due while the database is down
      const inFlight = RESTART_TRANSFERS - r.progress();
      await stack.postgres.kill('SIGKILL');
      const downAt = Date.now();
      const probes: Awaited<ReturnType<typeof probe>> = [];
      while (Date.now() - downAt < DOWN_MS) {
        probes.push(...(await probe(api, slow, slow.fx, probeId)));
        await sleep(300);
      }
      const pgStartMs = await stack.postgres.start();
      const upAt = Date.now();
      await r.done;
      const totalMs = Date.now() - t0;

      const verdict = await verify(db, [...probeRun.planned, ...r.planned]);
      // Activities retried: workflow steps written after the restart for transfers that were in flight.
      const [after] = await db.rows(
        `SELECT count(*)::int AS n FROM "AuditEvent" a JOIN "Transfer" t ON t.id = a."transferId" WHERE t."externalRef" = ANY($1) AND a.at > to_timestamp($2 / 1000.0) AND a.action IN ('TRANSFER_ROUTED','TRANSFER_REMINDER','TRANSFER_ESCALATED')`,
        [r.planned.map((p) => p.externalRef), upAt],
      );
      const [firstStep] = await db.rows(`SELECT min(at) AS at FROM "AuditEvent" WHERE at > to_timestamp($1 / 1000.0) AND action <> 'TRANSFER_CREATED'`, [upAt]);
      report('postgres-restart', {
        transfers: RESTART_TRANSFERS + 1,
        inFlightAtKill: inFlight,
        downMs: upAt - downAt,
        postgresStartMs: pgStartMs,
        firstWorkflowStepAfterRestartMs: firstStep.at ? new Date(firstStep.at).getTime() - upAt : null,
        timerStepsWrittenAfterRestart: after.n,
        probes: probes.length,
        probe503: probes.filter((p) => p.status === 503).length,
        totalMs,
        ...verdict.counts,
        httpStatuses: statuses(api),
        internalErrors: internalErrors(api).summary,
      });
      expect(verdict.wrong).toEqual([]);
      // While down: every main endpoint answered 503 naming the database (never 500, never a stack trace).
      const bad = probes.filter((p) => p.status !== 503 || !/database/.test(p.body?.message ?? JSON.stringify(p.body)) || /stack|\.ts:\d+|node_modules/.test(JSON.stringify(p.body)));
      expect(bad).toEqual([]);
      for (const p of probes.filter((x) => x.call === 'GET /readyz')) expect(p.body).toMatchObject({ status: 'unavailable', down: ['database'] });
      for (const p of probes.filter((x) => x.call !== 'GET /readyz')) {
        expect(p.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', message: 'the database is unavailable; try again shortly' });
      }
      expect(api.statuses.get(500) ?? 0).toBe(0);
    } finally {
      await db.close();
    }
  }, 900_000);
});

describe('Temporal server restart', () => {
  it(`${RESTART_TRANSFERS} transfers resume after the Temporal server goes down mid-run; timers fire after the restart`, async () => {
    const { api, db, slow, fast } = await setUp(stack);
    try {
      const t0 = Date.now();
      const probeRun = run({ api, db, slow, fast, count: 1, paths: ['dispute'] });
      await probeRun.done;
      const probeId = probeRun.planned[0].id!;
      // Every other transfer escalates: their reminder (4 s) and escalations (8 s, 12 s) come due while Temporal is down.
      const r = run({ api, db, slow, fast, count: RESTART_TRANSFERS, concurrency: RESTART_TRANSFERS, paths: ['escalate', 'confirm', 'escalate', 'mismatch-arbitrate', 'escalate', 'dispute'] });
      await sleep(2000);
      const inFlight = RESTART_TRANSFERS - r.progress();
      await stack.temporal.kill('SIGKILL');
      const downAt = Date.now();
      // One round of calls every second while the server is down, not waiting for the
      // answers: calls that need Temporal may wait for it (the client retries).
      const rounds: Array<Promise<Awaited<ReturnType<typeof probe>>>> = [];
      while (Date.now() - downAt < DOWN_MS) {
        rounds.push(probe(api, slow, slow.fx, probeId));
        await sleep(1000);
      }
      const restartAt = Date.now();
      const temporalStartMs = await stack.temporal.start();
      const upAt = Date.now();
      const workerSurvived = stack.worker.running;
      if (!workerSurvived) await stack.worker.start();
      const probes = (await Promise.all(rounds)).flat();
      await r.done;
      const totalMs = Date.now() - t0;

      const verdict = await verify(db, [...probeRun.planned, ...r.planned]);
      // Timers that came due while the server was down fired after it came back.
      const timers = await db.rows(
        `SELECT a.action, a.at FROM "AuditEvent" a JOIN "Transfer" t ON t.id = a."transferId" WHERE t."externalRef" = ANY($1) AND a.action IN ('TRANSFER_REMINDER','TRANSFER_ESCALATED') ORDER BY a.at`,
        [r.planned.map((p) => p.externalRef)],
      );
      const afterRestart = timers.filter((x) => new Date(x.at).getTime() > upAt);
      const by = (call: string) => probes.filter((p) => p.call === call);
      const needsTemporal = [...by('POST /api/transfers'), ...by('POST /api/transfers/:id/confirm')];
      const errors500 = internalErrors(api);
      const latency = (ps: typeof probes) => (ps.length ? Math.max(...ps.map((p) => p.answeredAt - p.startedAt)) : null);
      report('temporal-restart', {
        transfers: RESTART_TRANSFERS + 1,
        inFlightAtKill: inFlight,
        downMs: upAt - downAt,
        temporalStartMs,
        workerSurvived,
        timerStepsAfterRestart: afterRestart.length,
        firstTimerAfterRestartMs: afterRestart.length ? new Date(afterRestart[0].at).getTime() - upAt : null,
        probes: probes.length,
        probeStatuses: Object.fromEntries(['GET /api/tasks', 'POST /api/transfers', 'POST /api/transfers/:id/confirm', 'GET /readyz'].map((c) => [c, by(c).map((p) => p.status).join(',')])),
        maxLatencyNeedingTemporalMs: latency(needsTemporal),
        maxLatencyReadsMs: latency([...by('GET /api/tasks'), ...by('GET /api/transfers'), ...by('GET /api/transfers/:id')]),
        totalMs,
        ...verdict.counts,
        httpStatuses: statuses(api),
        internalErrors: errors500.summary,
      });

      expect(verdict.wrong).toEqual([]);
      expect(workerSurvived).toBe(true);
      expect(afterRestart.length).toBeGreaterThan(0);
      // While down: reads from the database work; /readyz names Temporal; what needs
      // Temporal answers 503 naming it, or, if it waited for the restart, its normal answer
      // (the probe transfer is DISPUTED: 409; a new transfer: 201). Never a 500 or no answer.
      for (const p of [...by('GET /api/tasks'), ...by('GET /api/transfers'), ...by('GET /api/transfers/:id')]) expect([p.call, p.status]).toEqual([p.call, 200]);
      for (const p of by('GET /readyz').filter((x) => x.answeredAt < restartAt)) expect(p.body).toMatchObject({ status: 'unavailable', down: ['temporal'] });
      const bad = needsTemporal.filter((p) =>
        p.status === 503 ? !/(temporal|workflow service)/i.test(p.body?.message ?? '') : !(p.answeredAt > restartAt && [201, 409].includes(p.status)),
      );
      expect(bad).toEqual([]);
      expect(errors500.unexplained).toEqual([]);
    } finally {
      await db.close();
    }
  }, 900_000);
});
