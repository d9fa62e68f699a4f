// Small helpers shared by the benchmarks: sizes from env vars, HTTP, percentiles, a
// concurrency pool, direct SQL and the report every benchmark prints.
import fs from 'node:fs';
import path from 'node:path';
import { Client as PgClient, Pool as PgPool } from 'pg';
import { ROOT } from './stack';

/** An integer size from the environment (BENCH sizes), else the default; at least `min` (1 unless a size may be 0, "skip"). */
export function intEnv(name: string, dflt: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms: number, every = 250): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${Math.round(ms / 1000)} s waiting for ${what}`);
    await sleep(every);
  }
}

export interface HttpResult<T = any> {
  status: number;
  body: T;
}

export async function http<T = any>(base: string, method: string, url: string, opts: { token?: string; body?: unknown; raw?: string; contentType?: string } = {}): Promise<HttpResult<T>> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.raw !== undefined ? { 'content-type': opts.contentType ?? 'text/plain' } : {}),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    },
    body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body };
}

/** Like http() but throws unless the status is one of `ok`. */
export async function call<T = any>(base: string, method: string, url: string, opts: Parameters<typeof http>[3] = {}, ok: number[] = [200, 201]): Promise<T> {
  const r = await http<T>(base, method, url, opts);
  if (!ok.includes(r.status)) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
  return r.body;
}

export async function login(base: string, username: string, password = 'demo'): Promise<string> {
  return (await call<{ token: string }>(base, 'POST', '/api/auth/login', { body: { username, password } }, [200])).token;
}

/** Runs `n` jobs with at most `concurrency` at a time (job i gets index i). */
export async function pool(n: number, concurrency: number, job: (i: number, worker: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async (_, w) => {
      while (next < n && failed === undefined) {
        const i = next++;
        try {
          await job(i, w);
        } catch (err) {
          failed ??= err;
        }
      }
    }),
  );
  if (failed !== undefined) throw failed;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summary(values: number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN };
}

export async function sql<T = any>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const pg = new PgClient({ connectionString: url });
  await pg.connect();
  try {
    return (await pg.query(text, values)).rows as T[];
  } finally {
    await pg.end();
  }
}

/** A small connection pool for polling the database from the bench (call end() when done). */
export function pgPool(url: string, max = 4): PgPool {
  return new PgPool({ connectionString: url, max });
}

export const round = (v: number, digits = 1) => (Number.isFinite(v) ? Number(v.toFixed(digits)) : v);
export const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);

export interface Target {
  name: string;
  ok: boolean;
  detail: string;
}

export interface BenchResult {
  name: string;
  /** What was run (sizes, concurrency). */
  params: Record<string, string | number>;
  figures: Record<string, string | number>;
  baseline: Record<string, string | number> | null;
  /** Measured figure ÷ baseline figure (same unit), named. */
  ratio: { name: string; value: number } | null;
  targets: Target[];
  /** Anything else to show as is (query plans, RSS samples). */
  notes: string[];
  /** Raw series kept in the JSON file only (e.g. the worker's memory samples). */
  data?: unknown;
  startedAt: string;
  elapsedS: number;
}

export function printResult(r: BenchResult): void {
  const line = (k: string, v: unknown) => console.log(`  ${k.padEnd(46)} ${v}`);
  console.log(`\n== ${r.name} (${r.elapsedS} s) ==`);
  console.log(' params');
  for (const [k, v] of Object.entries(r.params)) line(k, v);
  console.log(' figures');
  for (const [k, v] of Object.entries(r.figures)) line(k, v);
  if (r.baseline) {
    console.log(' baseline (same run)');
    for (const [k, v] of Object.entries(r.baseline)) line(k, v);
  }
  if (r.ratio) {
    console.log(' ratio');
    line(r.ratio.name, `${round(r.ratio.value, 3)}×`);
  }
  console.log(' targets');
  for (const t of r.targets) line(t.name, `${t.ok ? 'MET   ' : 'MISSED'} ${t.detail}`);
  for (const n of r.notes) console.log(`\n${n}`);
}

/** Keeps the last result of each benchmark in artifacts/ (for docs/benchmarks.md). */
export function saveResult(r: BenchResult): string {
  const file = path.join(ROOT, 'artifacts', `bench-${r.name}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(r, null, 2));
  return file;
}
