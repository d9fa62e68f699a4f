// `npm run bench` runs every benchmark; `npm run bench -- <name> [<name>…]` only those.
// Each starts its own real stack (bench/lib/stack.ts), measures its baseline in the same
// run, prints its figures and the ratio, stops what it started, and keeps its result in
// artifacts/bench-<name>.json. Sizes: env vars, see bench/README.md.
import os from 'node:os';
import fs from 'node:fs';
import * as e2e from './e2e';
import * as e2eFloor from './e2e-floor';
import * as inbox from './inbox';
import * as inboxSql from './inbox-sql';
import * as importBench from './import';
import * as robots from './robots';
import * as workerMemory from './worker-memory';
import { printResult, saveResult, type BenchResult } from './lib/util';

const BENCHMARKS: Record<string, () => Promise<BenchResult>> = {
  e2e: e2e.run,
  'e2e-floor': e2eFloor.run,
  inbox: inbox.run,
  'inbox-sql': inboxSql.run,
  import: importBench.run,
  robots: robots.run,
  'worker-memory': workerMemory.run,
};

function machine(): string {
  const cpu = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? os.cpus()[0]?.model ?? '?';
  return `${os.cpus().length} CPUs (${cpu}), ${Math.round(os.totalmem() / 1024 ** 3)} GiB RAM, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = args.filter((a) => !(a in BENCHMARKS));
  if (unknown.length) {
    console.error(`unknown benchmark ${unknown.join(', ')}; choose from: ${Object.keys(BENCHMARKS).join(', ')}`);
    process.exit(2);
  }
  const names = args.length ? args : Object.keys(BENCHMARKS);
  console.log(`machine: ${machine()}`);
  let failed = 0;
  for (const name of names) {
    console.log(`\n-- ${name}: starting (its own stack; log in artifacts/bench-${name}-stack.log)`);
    try {
      const result = await BENCHMARKS[name]();
      printResult(result);
      console.log(`\n  saved ${saveResult(result)}`);
    } catch (err) {
      failed++;
      console.error(`\n== ${name} FAILED: ${(err as Error).stack ?? err}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

void main();
