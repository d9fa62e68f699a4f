// Fault test 4: 50 concurrent conflicting actions on one task — confirm (matching and
// mismatching figures), dispute and reject from the receiver's two accountants — sent
// at the moment the confirmation deadline fires (escalation to the supervisor). Exactly
// one action decides; the other 49 get 409; the audit trail shows exactly one decision,
// and the deadline escalates at most once. Runs on the shared test stack
// (tests/global-setup.ts), in the main `npm test` pass and in `npm run test:faults`.
//
// Sizes (env): FAULT_CONFLICT_ROUNDS (transfers, each with its own burst; default 3),
// FAULT_CONFLICT_CALLS (actions per burst; default 50).
import { http, login } from '../helpers/http';
import { createFixture, PASSWORD, uid, type Fixture } from '../helpers/fixtures';
import { sql } from '../helpers/db';
import { until, sleep } from '../helpers/wait';
import { report } from './scenario';

const ROUNDS = Number(process.env.FAULT_CONFLICT_ROUNDS || 3);
const CALLS = Number(process.env.FAULT_CONFLICT_CALLS || 50);
/** Bursts land around the deadline: a little before, on it, a little after. */
const OFFSETS_MS = [-250, 0, 250, -100, 100];
const DECISIONS = ['TRANSFER_CONFIRM', 'TRANSFER_MISMATCH', 'TRANSFER_DISPUTE', 'TRANSFER_REJECT'];

const receipt = { receiptRef: 'GR-C', quantity: '4', unitPrice: '25.125', amount: '100.50', date: '2026-11-19' };

describe('50 concurrent conflicting actions on one task, at its deadline', () => {
  jest.setTimeout(180_000);
  let fx: Fixture;
  let tokens: { sender: string; acc: string; acc2: string };
  beforeAll(async () => {
    // The receiver has 6 s to confirm; then it escalates to the supervisor.
    fx = await createFixture(undefined, { confirmWithin: 'PT6S', remindBefore: 'PT3S', escalationWithin: 'PT1H' });
    tokens = { sender: await login(fx.users.senderAcc.username, PASSWORD), acc: await login(fx.users.receiverAcc.username, PASSWORD), acc2: await login(fx.users.receiverAcc2.username, PASSWORD) };
  });

  it(`exactly one of ${CALLS} actions decides, the rest get 409, one decision in the audit trail (${ROUNDS} rounds)`, async () => {
    const rounds = await Promise.all(
      Array.from({ length: ROUNDS }, async (_, round) => {
        const created = await http('POST', '/api/transfers', {
          token: tokens.sender,
          body: { senderEntity: fx.sender.code, receiverEntity: fx.receiver.code, type: 'GOODS', externalRef: `CONFLICT-${uid()}`, quantity: '4', unit: 'KG', unitPrice: '25.125', amount: '100.50', currency: 'CNY', documentDate: '2026-11-18', period: '2026-11' },
        });
        expect(created.status).toBe(201);
        const id: string = created.body.id;
        // The workflow's deadline (written with its first task).
        const [routed] = await until(async () => {
          const rows = await sql(`SELECT a.after->>'dueAt' AS "dueAt" FROM "AuditEvent" a WHERE a."transferId" = $1 AND a.action = 'TRANSFER_ROUTED'`, [id]);
          return rows.length ? rows : null;
        });
        const fireAt = new Date(routed.dueAt).getTime() + OFFSETS_MS[round % OFFSETS_MS.length];
        await sleep(Math.max(0, fireAt - Date.now()));
        const calls = Array.from({ length: CALLS }, (_, i) => {
          const token = i % 2 === 0 ? tokens.acc : tokens.acc2;
          switch (i % 4) {
            case 0:
              return http('POST', `/api/transfers/${id}/confirm`, { token, body: receipt });
            case 1:
              return http('POST', `/api/transfers/${id}/dispute`, { token, body: { reason: 'QUANTITY', text: '只收到 3 KG' } });
            case 2:
              return http('POST', `/api/transfers/${id}/reject`, { token, body: { reason: '不是我们的单据' } });
            default:
              return http('POST', `/api/transfers/${id}/confirm`, { token, body: { ...receipt, quantity: '3', amount: '75.38' } });
          }
        });
        const results = await Promise.all(calls);
        return { id, offset: OFFSETS_MS[round % OFFSETS_MS.length], results };
      }),
    );

    const figures = [];
    for (const { id, offset, results } of rounds) {
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(CALLS - 1);
      for (const r of results.filter((x) => x.status === 409)) expect(r.body.error).toBe('Conflict');
      const winner = results.find((r) => r.status === 200)!;
      // Let every step of the workflow land (the escalation may still be persisting).
      const final = await until(async () => {
        const [t] = await sql(`SELECT status FROM "Transfer" WHERE id = $1`, [id]);
        const open = await sql(`SELECT kind FROM "Task" WHERE "transferId" = $1 AND status = 'OPEN'`, [id]);
        const settled = open.every((k) => k.kind === 'ARBITRATE') && (t.status !== 'DISPUTED' || open.length === 1);
        return t.status === winner.body.status && settled ? t : null;
      });
      expect(final.status).toBe(winner.body.status);
      const audit = await sql<{ action: string; at: Date }>(`SELECT action, at FROM "AuditEvent" WHERE "transferId" = $1 ORDER BY id`, [id]);
      const decisions = audit.filter((a) => DECISIONS.includes(a.action));
      expect(decisions).toHaveLength(1);
      const escalations = audit.filter((a) => a.action === 'TRANSFER_ESCALATED');
      expect(escalations.length).toBeLessThanOrEqual(1);
      // If the deadline fired, its escalation task was withdrawn by the decision: nothing is left open but arbitration.
      const tasks = await sql(`SELECT kind, "escalationLevel", status FROM "Task" WHERE "transferId" = $1`, [id]);
      expect(tasks.filter((t) => t.kind === 'CONFIRM').length).toBe(1 + escalations.length);
      expect(tasks.filter((t) => t.status === 'OPEN').map((t) => t.kind)).toEqual(final.status === 'DISPUTED' ? ['ARBITRATE'] : []);
      figures.push({ offsetFromDeadlineMs: offset, outcome: decisions[0].action, escalated: escalations.length === 1, deadlineFiredFirst: escalations.length === 1 && escalations[0].at <= decisions[0].at, status200: 1, status409: CALLS - 1 });
    }
    report('concurrency', { rounds: ROUNDS, callsPerRound: CALLS, results: figures });
  });
});
