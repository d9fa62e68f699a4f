// Recorded histories (tests/replay/histories/*.json, made by the workflow tests with
// RECORD_HISTORIES=1) must replay against the current workflow code without a
// non-determinism error: running transfers survive a deploy. Change running logic
// behind patched() and record new histories beside the old ones.
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';

const dir = path.join(__dirname, 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('replay of recorded transfer workflow histories', () => {
  it('has histories for every routing mode and the deadline paths', () => {
    expect(files).toEqual(
      expect.arrayContaining(['countersign-approve.json', 'delegate.json', 'either-sign.json', 'escalation-hq.json', 'reminder-confirm.json', 'sequential.json', 'single-mismatch.json', 'single-reject.json', 'single-withdraw.json', 'single-mismatch-arbitration.json', 'arbitration-adjust.json', 'dispute-corrected.json', 'freeze-escalate.json']),
    );
  });

  it.each(files)('%s replays without non-determinism', async (file) => {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! }, replayName: file }, history, `replay-${file}`),
    ).resolves.toBeUndefined();
  });
});
