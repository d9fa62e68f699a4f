// A run of N transfers through the API of a FaultStack, each with a planned path
// (confirm, dispute, mismatch + arbitration, reject, deadline escalation up to HQ), and
// the database checks afterwards: the right final state, and no duplicate tasks, audit
// rows or notification events. Clients retry through faults (5xx, timeouts, refused
// connections) until the effect is in the database, as a person reloading would.
import { Pool } from 'pg';
import { createFixture, PASSWORD, transferBody, uid, type Fixture } from '../helpers/fixtures';
import { createPrisma } from '../../prisma/client';
import type { FaultStack } from './harness';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Path = 'confirm' | 'dispute' | 'mismatch-arbitrate' | 'reject' | 'escalate';
const PATHS: Path[] = ['confirm', 'dispute', 'mismatch-arbitrate', 'escalate', 'reject'];

/** Expected final state and rows per path (derived from workflows/transfer.ts). */
const EXPECTED: Record<Path, { status: string; audit: string[]; notifications: string[]; tasks: string[] }> = {
  confirm: {
    status: 'CONFIRMED',
    audit: ['TRANSFER_CREATED', 'TRANSFER_ROUTED', 'TRANSFER_CONFIRM'],
    notifications: ['TASK_ASSIGNED', 'TRANSFER_CONFIRMED'],
    tasks: ['CONFIRM/0/DONE'],
  },
  dispute: {
    status: 'DISPUTED',
    audit: ['TRANSFER_CREATED', 'TRANSFER_ROUTED', 'TRANSFER_DISPUTE', 'ARBITRATION_OPENED'],
    notifications: ['TASK_ASSIGNED', 'TRANSFER_DISPUTED', 'ARBITRATION_REQUIRED', 'DISPUTE_OPENED', 'DISPUTE_OPENED'],
    tasks: ['CONFIRM/0/DONE', 'ARBITRATE/2/OPEN'],
  },
  'mismatch-arbitrate': {
    status: 'RESOLVED',
    audit: ['TRANSFER_CREATED', 'TRANSFER_ROUTED', 'TRANSFER_MISMATCH', 'ARBITRATION_OPENED', 'TRANSFER_ARBITRATED'],
    notifications: ['TASK_ASSIGNED', 'TRANSFER_DISPUTED', 'ARBITRATION_REQUIRED', 'DISPUTE_OPENED', 'DISPUTE_OPENED', 'TRANSFER_RESOLVED', 'TRANSFER_RESOLVED'],
    tasks: ['CONFIRM/0/DONE', 'ARBITRATE/2/DONE'],
  },
  reject: {
    status: 'REJECTED',
    audit: ['TRANSFER_CREATED', 'TRANSFER_ROUTED', 'TRANSFER_REJECT'],
    notifications: ['TASK_ASSIGNED', 'TRANSFER_REJECTED'],
    tasks: ['CONFIRM/0/DONE'],
  },
  // Nobody acts: reminder, escalation to the supervisor, then to HQ finance, who confirms.
  escalate: {
    status: 'CONFIRMED',
    audit: ['TRANSFER_CREATED', 'TRANSFER_ROUTED', 'TRANSFER_REMINDER', 'TRANSFER_ESCALATED', 'TRANSFER_ESCALATED', 'TRANSFER_CONFIRM'],
    notifications: ['TASK_ASSIGNED', 'REMINDER', 'ESCALATED', 'ESCALATED', 'TRANSFER_CONFIRMED'],
    tasks: ['CONFIRM/0/WITHDRAWN', 'CONFIRM/1/WITHDRAWN', 'CONFIRM/2/DONE'],
  },
};

/** Deadlines of the group whose transfers escalate: reminder, supervisor, HQ within seconds. */
export const FAST = { confirmWithin: 'PT8S', remindBefore: 'PT4S', escalationWithin: 'PT4S' };

export interface HttpResult {
  status: number; // 0: no answer (refused, reset, timed out)
  body: any;
}

export class ApiClient {
  /** Every answer's status, for the report. */
  readonly statuses = new Map<number, number>();
  /** Every 500: the call and its request id (the API log says why). */
  readonly errors500: Array<{ call: string; requestId: string }> = [];
  constructor(private readonly base: string) {}

  async call(method: string, path: string, token?: string, body?: unknown, timeoutMs = 20_000): Promise<HttpResult> {
    let r: HttpResult;
    try {
      const res = await fetch(`${this.base}${path}`, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      let parsed: any = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON */
      }
      r = { status: res.status, body: parsed };
      if (res.status === 500) this.errors500.push({ call: `${method} ${path}`, requestId: res.headers.get('x-request-id') ?? '' });
    } catch (err) {
      r = { status: 0, body: String((err as Error).message) };
    }
    this.statuses.set(r.status, (this.statuses.get(r.status) ?? 0) + 1);
    return r;
  }

  async login(username: string): Promise<string> {
    for (;;) {
      const r = await this.call('POST', '/api/auth/login', undefined, { username, password: PASSWORD });
      if (r.status === 200) return r.body.token;
      if (r.status !== 0 && r.status < 500) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
      await sleep(500);
    }
  }
}

/** SQL on the stack's database that survives the database being down (returns null then). */
export class Db {
  private pool: Pool;
  constructor(url: string) {
    this.pool = new Pool({ connectionString: url, max: 3, connectionTimeoutMillis: 3000 });
    this.pool.on('error', () => undefined); // idle clients die with the server
  }
  async query<T = any>(text: string, values: unknown[] = []): Promise<T[] | null> {
    try {
      return (await this.pool.query(text, values)).rows as T[];
    } catch {
      return null;
    }
  }
  async rows<T = any>(text: string, values: unknown[] = []): Promise<T[]> {
    for (let i = 0; ; i++) {
      const r = await this.query<T>(text, values);
      if (r) return r;
      if (i > 100) throw new Error(`query failed: ${text}`);
      await sleep(500);
    }
  }
  close(): Promise<void> {
    return this.pool.end();
  }
}

interface Actors {
  fx: Fixture;
  sender: string;
  receiver: string;
  hq: string;
}

export interface Planned {
  i: number;
  path: Path;
  externalRef: string;
  id?: string;
  actors: Actors;
  done: boolean;
  error?: string;
}

/** Two groups: one with the usual 48 h deadlines, one whose deadlines pass in seconds. */
export async function setUp(stack: FaultStack) {
  const prisma = createPrisma(stack.databaseUrl, { max: 3 });
  try {
    const slow = await createFixture(prisma);
    const fast = await createFixture(prisma, FAST);
    const api = new ApiClient(stack.apiUrl);
    const actors = async (fx: Fixture): Promise<Actors> => ({
      fx,
      sender: await api.login(fx.users.senderAcc.username),
      receiver: await api.login(fx.users.receiverAcc.username),
      hq: await api.login(fx.users.hq.username),
    });
    return { api, db: new Db(stack.ownerDatabaseUrl), slow: await actors(slow), fast: await actors(fast) };
  } finally {
    await prisma.$disconnect();
  }
}

const RECEIPT = { receiptRef: 'GR-1', quantity: '4', unitPrice: '25.125', amount: '100.50', date: '2026-11-19' };

export interface RunOptions {
  api: ApiClient;
  db: Db;
  slow: Actors;
  fast: Actors;
  count: number;
  /** Transfers in flight at once. */
  concurrency?: number;
  /** Paths to use (default: all five in turn). */
  paths?: Path[];
  /** Give up after this long. */
  timeoutMs?: number;
}

/** Starts the run; `done` resolves when every transfer has reached its planned final state. */
export function run(opts: RunOptions): { planned: Planned[]; done: Promise<void>; progress: () => number } {
  const paths = opts.paths ?? PATHS;
  const tag = uid();
  const planned: Planned[] = Array.from({ length: opts.count }, (_, i) => {
    const path = paths[i % paths.length];
    return { i, path, externalRef: `FLT-${tag}-${String(i).padStart(4, '0')}`, actors: path === 'escalate' ? opts.fast : opts.slow, done: false };
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  const watch = new Watch(opts.db, planned);
  const one = async (p: Planned) => {
    try {
      await drive(opts.api, watch, p, deadline);
      p.done = true;
    } catch (err) {
      p.error = (err as Error).message;
      throw err;
    }
  };
  const queue = [...planned];
  const lanes = Array.from({ length: Math.min(opts.concurrency ?? 10, planned.length) }, async () => {
    for (let p = queue.shift(); p; p = queue.shift()) await one(p);
  });
  const done = Promise.all(lanes).then(() => undefined).finally(() => watch.stop());
  return { planned, done, progress: () => planned.filter((p) => p.done).length };
}

/** One query every 400 ms for the state of the whole run (instead of one poll per transfer). */
class Watch {
  private state = new Map<string, { id: string; status: string; escalationLevel: number; arbitrationOpen: boolean; tasks: number }>();
  private stopped = false;
  private loop: Promise<void>;
  constructor(private readonly db: Db, private readonly planned: Planned[]) {
    this.loop = this.poll();
  }
  private async poll(): Promise<void> {
    const refs = this.planned.map((p) => p.externalRef);
    while (!this.stopped) {
      const rows = await this.db.query(
        `SELECT t.id, t."externalRef", t.status, t."escalationLevel",
                EXISTS (SELECT 1 FROM "Task" k WHERE k."transferId" = t.id AND k.kind = 'ARBITRATE' AND k.status = 'OPEN') AS "arbitrationOpen",
                (SELECT count(*)::int FROM "Task" k WHERE k."transferId" = t.id) AS tasks
           FROM "Transfer" t WHERE t."externalRef" = ANY($1)`,
        [refs],
      );
      for (const r of rows ?? []) this.state.set(r.externalRef, r);
      await sleep(400);
    }
  }
  get(ref: string) {
    return this.state.get(ref);
  }
  async until(p: Planned, what: string, ok: (s: NonNullable<ReturnType<Watch['get']>>) => boolean, deadline: number): Promise<void> {
    for (;;) {
      const s = this.state.get(p.externalRef);
      if (s && ok(s)) return;
      if (Date.now() > deadline) throw new Error(`transfer ${p.i} (${p.path}) never reached "${what}": ${JSON.stringify(s)}`);
      await sleep(200);
    }
  }
  stop(): void {
    this.stopped = true;
  }
}

/** Sends an action until its effect shows in the database (5xx, 409 while busy, no answer: try again). */
async function act(api: ApiClient, watch: Watch, p: Planned, what: string, call: () => Promise<HttpResult>, effect: Parameters<Watch['until']>[2], deadline: number): Promise<void> {
  for (;;) {
    const s = watch.get(p.externalRef);
    if (s && effect(s)) return;
    const r = await call();
    if (r.status === 200 || r.status === 201) {
      await watch.until(p, what, effect, deadline);
      return;
    }
    if (r.status !== 0 && r.status !== 409 && r.status < 500) throw new Error(`transfer ${p.i} (${p.path}) ${what}: ${r.status} ${JSON.stringify(r.body)}`);
    if (Date.now() > deadline) throw new Error(`transfer ${p.i} (${p.path}) ${what}: still failing (${r.status} ${JSON.stringify(r.body).slice(0, 300)})`);
    await sleep(500 + Math.random() * 500);
  }
}

async function drive(api: ApiClient, watch: Watch, p: Planned, deadline: number): Promise<void> {
  const a = p.actors;
  const body = transferBody(a.fx, { externalRef: p.externalRef, memo: `fault test ${p.path}` });
  // Created, and its workflow has routed it (the first task exists).
  await act(api, watch, p, 'routed', () => api.call('POST', '/api/transfers', a.sender, body), (s) => s.tasks > 0, deadline);
  p.id = watch.get(p.externalRef)!.id;
  const post = (token: string, action: string, b: unknown) => () => api.call('POST', `/api/transfers/${p.id}/${action}`, token, b);
  switch (p.path) {
    case 'confirm':
      return act(api, watch, p, 'CONFIRMED', post(a.receiver, 'confirm', RECEIPT), (s) => s.status === 'CONFIRMED', deadline);
    case 'reject':
      return act(api, watch, p, 'REJECTED', post(a.receiver, 'reject', { reason: '不是我们的单据' }), (s) => s.status === 'REJECTED', deadline);
    case 'dispute':
      return act(api, watch, p, 'arbitration open', post(a.receiver, 'dispute', { reason: 'QUANTITY', text: '只收到 3 KG' }), (s) => s.status === 'DISPUTED' && s.arbitrationOpen, deadline);
    case 'mismatch-arbitrate':
      await act(api, watch, p, 'arbitration open', post(a.receiver, 'confirm', { ...RECEIPT, quantity: '3', amount: '75.38' }), (s) => s.status === 'DISPUTED' && s.arbitrationOpen, deadline);
      return act(api, watch, p, 'RESOLVED', post(a.hq, 'arbitrate', { decision: 'UPHOLD_SENDER', rationale: '发货单与签收单一致' }), (s) => s.status === 'RESOLVED', deadline);
    case 'escalate':
      await watch.until(p, 'escalated to HQ', (s) => s.escalationLevel === 2, deadline);
      return act(api, watch, p, 'CONFIRMED by HQ', post(a.hq, 'confirm', RECEIPT), (s) => s.status === 'CONFIRMED', deadline);
  }
}

export interface Verdict {
  wrong: string[];
  counts: { transferRows: number; auditRows: number; tasks: number; notifications: number };
}

/** Checks every planned transfer in the database: final state, and exactly the expected audit rows, tasks and notification events. */
export async function verify(db: Db, planned: Planned[]): Promise<Verdict> {
  const refs = planned.map((p) => p.externalRef);
  const transfers = await db.rows(`SELECT id, "externalRef", status FROM "Transfer" WHERE "externalRef" = ANY($1)`, [refs]);
  const byRef = new Map(transfers.map((t) => [t.externalRef, t]));
  const ids = transfers.map((t) => t.id);
  const group = async (sql: string) => {
    const m = new Map<string, string[]>();
    for (const r of await db.rows(sql, [ids])) m.set(r.transferId, [...(m.get(r.transferId) ?? []), r.v]);
    return m;
  };
  const audit = await group(`SELECT "transferId", action AS v FROM "AuditEvent" WHERE "transferId" = ANY($1) ORDER BY id`);
  const notes = await group(`SELECT "transferId", kind AS v FROM "NotificationEvent" WHERE "transferId" = ANY($1)`);
  const tasks = await group(`SELECT "transferId", kind || '/' || "escalationLevel" || '/' || status AS v FROM "Task" WHERE "transferId" = ANY($1)`);
  const wrong: string[] = [];
  const sorted = (x: string[] | undefined) => [...(x ?? [])].sort();
  for (const p of planned) {
    const t = byRef.get(p.externalRef);
    const e = EXPECTED[p.path];
    if (!t) {
      wrong.push(`${p.i} ${p.path}: no transfer row`);
      continue;
    }
    if (t.status !== e.status) wrong.push(`${p.i} ${p.path}: status ${t.status}, expected ${e.status}`);
    const check = (what: string, got: string[] | undefined, want: string[]) => {
      if (JSON.stringify(sorted(got)) !== JSON.stringify(sorted(want))) wrong.push(`${p.i} ${p.path}: ${what} ${JSON.stringify(sorted(got))}, expected ${JSON.stringify(sorted(want))}`);
    };
    check('audit', audit.get(t.id), e.audit);
    check('notifications', notes.get(t.id), e.notifications);
    check('tasks', tasks.get(t.id), e.tasks);
    // The decision is persisted before arbitration opens (patch 'arbitration-after-decision').
    const a = audit.get(t.id) ?? [];
    if (a.includes('ARBITRATION_OPENED') && a.indexOf('ARBITRATION_OPENED') < a.findIndex((x) => x === 'TRANSFER_DISPUTE' || x === 'TRANSFER_MISMATCH')) {
      wrong.push(`${p.i} ${p.path}: arbitration opened before the decision was written: ${JSON.stringify(a)}`);
    }
  }
  const count = (m: Map<string, string[]>) => [...m.values()].reduce((n, v) => n + v.length, 0);
  return { wrong, counts: { transferRows: transfers.length, auditRows: count(audit), tasks: count(tasks), notifications: count(notes) } };
}

/** Figures of a fault run, printed and written to artifacts/faults/<name>.json (docs/benchmarks.md quotes them). */
export function report(name: string, figures: Record<string, unknown>): void {
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  const dir = path.resolve(__dirname, '..', '..', 'artifacts', 'faults');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ at: new Date().toISOString(), ...figures }, null, 2));
  // eslint-disable-next-line no-console
  console.log(`${name}: ${JSON.stringify(figures, null, 2)}`);
}
