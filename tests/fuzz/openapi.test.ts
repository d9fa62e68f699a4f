// Schema-driven fuzzing of the whole API from its own OpenAPI document, with
// schemathesis (PyPI, installed into .tools/venv by scripts/bootstrap.js --test): every
// operation is called with examples, boundary values and random data, as HQ finance,
// against the running test stack. The check: no response is a server error (5xx).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { login } from '../helpers/http';
import { VENV_BIN } from '../../scripts/lib/temporal-server';

const ST = path.join(VENV_BIN, 'st');

describe('OpenAPI fuzzing (schemathesis)', () => {
  jest.setTimeout(600_000);

  it('finds no server error in any operation', async () => {
    expect(fs.existsSync(ST)).toBe(true);
    const token = await login('hq.finance', 'demo');
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ic-fuzz-'));
    const args = [
      'run',
      `${process.env.TEST_API_URL}/docs/json`,
      '--checks', 'not_a_server_error',
      '--header', `Authorization: Bearer ${token}`,
      '--max-examples', process.env.FUZZ_MAX_EXAMPLES ?? '10',
      '--phases', 'examples,coverage,fuzzing',
      '--workers', '2',
      '--seed', process.env.FUZZ_SEED ?? '20261122',
      '--no-color',
      // The server-sent-events stream never ends; tests/e2e/web-api.test.ts covers it.
      '--exclude-path', '/api/events',
    ];
    const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
      const child = spawn(ST, args, { cwd, env: { ...process.env, SCHEMATHESIS_TELEMETRY: 'false' } });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.stderr.on('data', (d) => (text += d));
      child.on('close', (c) => resolve({ code: c ?? 1, out: text }));
    });
    fs.mkdirSync(path.join(__dirname, '..', '..', 'artifacts'), { recursive: true });
    fs.writeFileSync(path.join(__dirname, '..', '..', 'artifacts', 'schemathesis.log'), out);
    fs.rmSync(cwd, { recursive: true, force: true });
    const summary = out.split('\n').filter((l) => /Server error|test cases|generated|failures?,|passed/i.test(l)).join('\n');
    expect(out).not.toContain('ST101 Server error');
    expect({ code, summary }).toEqual({ code: 0, summary: expect.any(String) });
    // Every operation but the event stream is tested.
    const ops = out.match(/API Operations:\s+Selected: (\d+)\/(\d+)\s+Tested: (\d+)/);
    expect(ops && { selected: Number(ops[1]), tested: Number(ops[3]) }).toEqual({ selected: Number(ops?.[2]) - 1, tested: Number(ops?.[2]) - 1 });
  });
});
