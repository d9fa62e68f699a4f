// Fault test 5: a change to running workflow logic, guarded with patched().
//
// The change (workflows/transfer.ts, patch 'arbitration-after-decision'): the opening of
// HQ arbitration used to be persisted concurrently with the decision that caused it, so
// their audit rows landed in either order; now the decision is persisted first.
//
// 1. New code, new history: the mismatch → arbitration scenario on the time-skipping
//    server writes the two audit rows in order and records the patch marker (with
//    RECORD_HISTORIES=1 the history is saved to tests/replay/histories/, never overwritten).
// 2. The guard matters: the same change with the guard removed (a bundle built from a
//    temporary copy of workflows/ in which patched('arbitration-after-decision') is
//    replaced by `true`; nothing broken is ever committed) fails to replay the histories
//    recorded before the change with a determinism violation, and the guarded code
//    replays every committed history.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { transferWorkflow } from '../../workflows/transfer';
import { confirmUpdate, stateQuery } from '../../workflows/messages';
import type { Actor } from '../../workflows/types';
import { createFixture, insertTransfer, testPrisma } from '../helpers/fixtures';
import { recordHistory, testWorker, timeSkipping, until } from '../helpers/temporal';

const ROOT = path.resolve(__dirname, '..', '..');
const PATCH = 'arbitration-after-decision';
const HISTORIES = path.join(ROOT, 'tests', 'replay', 'histories');

/** Patch ids of the core_patch markers in a history (JSON as committed). */
function patchIds(json: any): string[] {
  const ids: string[] = [];
  for (const e of json.events ?? []) {
    const a = e.markerRecordedEventAttributes;
    if (a?.markerName !== 'core_patch') continue;
    for (const p of a.details?.['patch-data']?.payloads ?? []) ids.push(JSON.parse(Buffer.from(p.data, 'base64').toString('utf8')).id);
  }
  return ids;
}

const silent = { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } as never;

/** Replays one history file against a bundle; resolves to the error, or null when it replays. */
async function replay(bundlePath: string, file: string): Promise<Error | null> {
  const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES, file), 'utf8')));
  try {
    await Worker.runReplayHistory({ workflowBundle: { codePath: bundlePath }, replayName: file }, history, `replay-${file}`);
    return null;
  } catch (err) {
    return err as Error;
  }
}

describe('a guarded change to the transfer workflow (patched)', () => {
  jest.setTimeout(180_000);

  describe('new code', () => {
    let env: TestWorkflowEnvironment;
    beforeAll(async () => {
      env = await timeSkipping();
    });
    afterAll(async () => {
      await env?.teardown();
    });

    it('persists the mismatch before the opening of arbitration and records the patch marker', async () => {
      const fx = await createFixture();
      const prisma = testPrisma();
      const { worker, taskQueue } = await testWorker(env);
      await worker.runUntil(async () => {
        const t = await insertTransfer(fx);
        const h = await env.client.workflow.start(transferWorkflow, { taskQueue, workflowId: t.workflowId, args: [{ transferId: t.id }] });
        await until(() => prisma.task.findFirst({ where: { transferId: t.id } }));
        const actor: Actor = { userId: fx.users.receiverAcc.id, name: 'racc', groupRole: null, memberships: [{ entityId: fx.receiver.id, role: 'ACCOUNTANT' }] };
        const r = await h.executeUpdate(confirmUpdate, { args: [{ actor, receipt: { receiptRef: 'GR-9', quantity: '9', unitPrice: '12.5', amount: '112.50', date: '2026-11-21' } }] });
        expect(r.status).toBe('DISPUTED');
        await until(async () => (await h.query(stateQuery)).arbitrationOpen);
        const rows = await until(async () => {
          const a = await prisma.auditEvent.findMany({ where: { transferId: t.id }, orderBy: { id: 'asc' }, select: { action: true, at: true } });
          return a.length >= 3 ? a : null;
        });
        expect(rows.map((a) => a.action)).toEqual(['TRANSFER_ROUTED', 'TRANSFER_MISMATCH', 'ARBITRATION_OPENED']);
        expect(rows[2].at.getTime()).toBeGreaterThanOrEqual(rows[1].at.getTime());
        const history = await h.fetchHistory();
        expect(patchIds(JSON.parse(historyToJSON(history)))).toEqual(expect.arrayContaining(['arbitration', PATCH]));
        await recordHistory(h, 'mismatch-arbitration-in-order');
      });
    });
  });

  describe('replay', () => {
    const files = fs.readdirSync(HISTORIES).filter((f) => f.endsWith('.json')).sort();
    const marks = new Map(files.map((f) => [f, patchIds(JSON.parse(fs.readFileSync(path.join(HISTORIES, f), 'utf8')))]));
    // Recorded before the change: arbitration opened, concurrently with the decision.
    const before = files.filter((f) => marks.get(f)!.includes('arbitration') && !marks.get(f)!.includes(PATCH));
    let tmp: string;
    let unguarded: string;

    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ic-unguarded-'));
      const copy = path.join(tmp, 'workflows');
      fs.cpSync(path.join(ROOT, 'workflows'), copy, { recursive: true });
      const file = path.join(copy, 'transfer.ts');
      const source = fs.readFileSync(file, 'utf8');
      const guard = `patched('${PATCH}')`;
      expect(source.split(guard)).toHaveLength(2); // exactly one guard to remove
      fs.writeFileSync(file, source.replace(guard, 'true'));
      // The copy imports packages (decimal.js, @temporalio/workflow): resolve them from the project.
      const { code } = await bundleWorkflowCode({
        workflowsPath: path.join(copy, 'index.ts'),
        logger: silent,
        webpackConfigHook: (config) => ({ ...config, resolve: { ...config.resolve, modules: [path.join(ROOT, 'node_modules'), 'node_modules'] } }),
      });
      unguarded = path.join(tmp, 'unguarded-bundle.js');
      fs.writeFileSync(unguarded, code);
    });
    afterAll(() => {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('has histories from before the change (arbitration opened concurrently) and from after it', () => {
      expect(before).toEqual(expect.arrayContaining(['single-mismatch-arbitration.json', 'arbitration-adjust.json', 'dispute-corrected.json']));
      expect(files.filter((f) => marks.get(f)!.includes(PATCH))).toEqual(expect.arrayContaining(['mismatch-arbitration-in-order.json']));
    });

    it('without the guard, the histories recorded before the change fail with a determinism violation', async () => {
      const failures: Record<string, string> = {};
      for (const f of before) {
        const err = await replay(unguarded, f);
        expect([f, err]).toEqual([f, expect.any(DeterminismViolationError)]);
        failures[f] = /\[TMPRL1100\][^"]*/.exec(err!.message)?.[0] ?? err!.message.slice(0, 200);
      }
      // Histories without an arbitration are not affected by the change: they still replay.
      for (const f of files.filter((x) => !marks.get(x)!.includes('arbitration'))) expect([f, await replay(unguarded, f)]).toEqual([f, null]);
      fs.mkdirSync(path.join(ROOT, 'artifacts', 'faults'), { recursive: true });
      fs.writeFileSync(path.join(ROOT, 'artifacts', 'faults', 'patched-replay.json'), JSON.stringify({ histories: files.length, unguardedFailures: failures }, null, 2));
      // eslint-disable-next-line no-console
      console.log(`unguarded change: ${Object.keys(failures).length} of ${files.length} histories fail to replay:\n${Object.entries(failures).map(([f, m]) => `  ${f}: ${m}`).join('\n')}`);
    });

    it('with the guard (the committed code), every committed history replays', async () => {
      for (const f of files) expect([f, await replay(process.env.TEST_WORKFLOW_BUNDLE!, f)]).toEqual([f, null]);
    });
  });
});
