// The 10,000-line bulk import (issue 5, point 5) with every workflow's first task, run
// by `npm test` in a jest pass of its own after the main suite (tests/heavy), because
// 10,000 workflows on the test stack's one worker would starve the other tests.
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { http, login } from '../helpers/http';
import { createFixture, PASSWORD } from '../helpers/fixtures';
import { sql } from '../helpers/db';
import { sleep, until } from '../helpers/wait';
import { line, UUID } from '../helpers/imports';

/**
 * Lines of the big import: the 10,000 (IMPORT_TEST_LINES sets another size). The API
 * answers in seconds; the test then waits until the Temporal dev server has started every
 * workflow and each has written its first task (minutes on 2 cores: see docs/benchmarks.md).
 */
const BIG = Number(process.env.IMPORT_TEST_LINES ?? 10_000);
/** How long the big import's workflows may take to reach their first task. */
const FIRST_TASKS_WITHIN_MS = Number(process.env.IMPORT_TEST_FIRST_TASKS_MS ?? Math.max(5 * 60_000, BIG * 150));
jest.setTimeout(FIRST_TASKS_WITHIN_MS + 120_000);

describe(`bulk import of ${BIG} lines`, () => {
  let temporal: TemporalClient;
  beforeAll(async () => {
    temporal = new TemporalClient({ connection: await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! }) });
  });
  afterAll(async () => {
    await temporal?.connection.close();
  });

  it('creates every line, starts every workflow, shows progress, and a resend creates nothing', async () => {
    const fx = await createFixture();
    const token = await login(fx.users.senderAcc.username, PASSWORD);
    const transfers = Array.from({ length: BIG }, (_, i) => line(fx, i));

    // The import, with its progress polled while the request runs.
    const t0 = Date.now();
    let finished = false;
    const request = http('POST', '/api/transfers/import', { token, body: { transfers } }).finally(() => (finished = true));
    const progress: Array<{ status: string; processed: number; total: number; workflowsPending: number }> = [];
    let importId: string | undefined;
    while (!finished) {
      if (!importId) {
        const list = await http('GET', '/api/imports', { token });
        importId = list.body.items?.find((x: { status: string }) => x.status === 'RUNNING')?.importId;
      }
      if (importId) progress.push((await http('GET', `/api/imports/${importId}`, { token })).body);
      await sleep(100);
    }
    const r = await request;
    const answerMs = Date.now() - t0;
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ format: 'json', total: BIG, processed: BIG, created: BIG, existed: 0, failed: 0, message: null });
    expect(r.headers.get('location')).toBe(`/api/imports/${r.body.importId}`);
    const results = r.body.results as Array<{ line: number; externalRef: string; status: string; transferId: string }>;
    expect(results).toHaveLength(BIG);
    results.forEach((x, i) => {
      expect(x).toEqual({ line: i + 1, externalRef: transfers[i]!.externalRef, status: 'created', transferId: expect.stringMatching(UUID) });
    });
    expect(new Set(results.map((x) => x.transferId)).size).toBe(BIG);

    // Progress was visible while it ran, and only grew.
    expect(importId).toBe(r.body.importId);
    expect(progress.length).toBeGreaterThan(0);
    for (const p of progress) {
      expect(p.total).toBe(BIG);
      expect(['RUNNING', 'DONE']).toContain(p.status);
    }
    expect(progress.some((p) => p.status === 'RUNNING' && (BIG < 5000 || p.processed < BIG))).toBe(true);
    const processed = progress.map((p) => p.processed);
    expect([...processed].sort((a, b) => a - b)).toEqual(processed);

    // The database holds exactly these, each with its TRANSFER_CREATED audit row, as soon as the answer comes.
    const rows = await sql<{ id: string; externalRef: string; amount: string }>(
      `SELECT id, "externalRef", amount::text AS amount FROM "Transfer" WHERE "senderEntityId" = $1`,
      [fx.sender.id],
    );
    expect(rows).toHaveLength(BIG);
    const byRef = new Map(rows.map((x) => [x.externalRef, x]));
    results.forEach((x, i) => {
      const row = byRef.get(x.externalRef)!;
      expect(row.id).toBe(x.transferId);
      expect(Number(row.amount)).toBe(Number(transfers[i]!.amount));
    });
    const [audit] = await sql(
      `SELECT count(*)::int AS n, count(DISTINCT a."transferId")::int AS d FROM "AuditEvent" a JOIN "Transfer" t ON t.id = a."transferId"
       WHERE t."senderEntityId" = $1 AND a.action = 'TRANSFER_CREATED'`,
      [fx.sender.id],
    );
    expect(audit).toEqual({ n: BIG, d: BIG });

    // Every workflow is started (the import turns DONE), then reaches its first task.
    const done = await until(async () => {
      const d = await http('GET', `/api/imports/${r.body.importId}`, { token });
      return d.body.status === 'DONE' ? d.body : null;
    }, FIRST_TASKS_WITHIN_MS, 1000);
    const startedMs = Date.now() - t0;
    expect(done).toMatchObject({ total: BIG, processed: BIG, created: BIG, existed: 0, failed: 0, workflowsPending: 0, message: null });
    expect(done.results).toEqual(results);
    const imported = await sql(`SELECT "entityIds", after FROM "AuditEvent" WHERE action = 'TRANSFERS_IMPORTED' AND "objectId" = $1`, [r.body.importId]);
    expect(imported).toHaveLength(1);
    expect(imported[0]).toEqual({ entityIds: [fx.sender.id], after: { format: 'json', total: BIG, created: BIG, existed: 0, failed: 0, workflowsNotStarted: 0 } });
    const tasksOf = async () =>
      (
        await sql<{ n: number; d: number }>(
          `SELECT count(*)::int AS n, count(DISTINCT k."transferId")::int AS d FROM "Task" k JOIN "Transfer" t ON t.id = k."transferId" WHERE t."senderEntityId" = $1`,
          [fx.sender.id],
        )
      )[0]!;
    await until(async () => (await tasksOf()).d === BIG, FIRST_TASKS_WITHIN_MS - (Date.now() - t0), 1000);
    const firstTasksMs = Date.now() - t0;
    const workflowQuery = `WorkflowType = 'transferWorkflow' AND WorkflowId STARTS_WITH 'transfer:${fx.sender.code}:'`;
    await until(async () => (await temporal.workflow.count(workflowQuery)).count === BIG, 60_000, 1000);
    console.log(
      `import of ${BIG} lines: answered in ${answerMs} ms, every workflow started after ${startedMs} ms, every first task after ${firstTasksMs} ms`,
    );

    // GET /api/imports/:id: the creator and HQ of the group; nobody else.
    const [hq, third, receiver] = await Promise.all([fx.users.hq, fx.users.thirdAcc, fx.users.receiverAcc].map((u) => login(u.username, PASSWORD)));
    expect((await http('GET', `/api/imports/${r.body.importId}`, { token: hq })).status).toBe(200);
    expect((await http('GET', '/api/imports', { token: hq })).body.items.map((x: { importId: string }) => x.importId)).toContain(r.body.importId);
    for (const other of [third, receiver]) {
      expect((await http('GET', `/api/imports/${r.body.importId}`, { token: other })).status).toBe(404);
      const list = await http('GET', '/api/imports', { token: other });
      expect(list.body.items.map((x: { importId: string }) => x.importId)).not.toContain(r.body.importId);
    }

    // The same file again: nothing created, every line reported with its transfer, no second workflow.
    const t1 = Date.now();
    const again = await http('POST', '/api/transfers/import', { token, body: { transfers } });
    const resendMs = Date.now() - t1;
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'DONE', total: BIG, processed: BIG, created: 0, existed: BIG, failed: 0, workflowsPending: 0 });
    expect(again.body.importId).not.toBe(r.body.importId);
    expect(again.body.results).toEqual(results.map((x) => ({ ...x, status: 'existed' })));
    expect((await sql(`SELECT count(*)::int AS n FROM "Transfer" WHERE "senderEntityId" = $1`, [fx.sender.id]))[0].n).toBe(BIG);
    await sleep(2000);
    expect(await tasksOf()).toEqual({ n: BIG, d: BIG });
    expect((await temporal.workflow.count(workflowQuery)).count).toBe(BIG);
    console.log(`resend of the same ${BIG} lines: ${resendMs} ms`);
  });
});

