// Bulk import of transfers from ERPs (issue 5, point 5):
//   POST /api/transfers/import            up to 10,000 transfers as JSON or CSV
//   GET  /api/transfers/import/template   the CSV template (header + one example row)
//   GET  /api/imports, /api/imports/:id   progress and per-line results
//
// Every line is checked like POST /api/transfers (the schema, then api/transfer-rules.ts)
// and answered on its own: created, existed (same sender + externalRef already booked:
// sending a file twice creates nothing the second time) or error with field and reason.
// The good lines are written in batches (one transaction per batch holds the transfers
// and their TRANSFER_CREATED audit rows); then their workflows are started, with a
// concurrency bound shared by all the imports of the process. The answer comes once
// every line is answered (plus up to SYNC_WAIT_MS for a few hundred starts): Temporal
// starts are the slow part (tens to hundreds a second on a dev server), so a large import
// answers with status RUNNING and `workflowsPending`, and the Import row (GET
// /api/imports/:id) shows the progress until DONE. If the process stops meanwhile, the
// transfers left without a workflow are started by the worker's starter sweep
// (activities/starter.ts) or by the next send of the same file, whichever comes first
// (PENDING, no task RESTART_AFTER_MS after being saved, REJECT_DUPLICATE start).
//
// Order of the checks on a line: shape; senderEntity (an accountant of it, so nobody
// learns which documents another entity has); the same document earlier in the file;
// already booked → existed (so a resend reports the line as booked even if, say, its
// period has been frozen since); receiver, figures, frozen period → error.
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { Prisma } from '../../prisma/client';
import type { AuthUser } from '../plugins/auth';
import { unavailableDependency } from '../plugins/errors';
import { IdParams, StringEnum, errors, type CreateTransferBody } from '../schemas';
import { workflowIdFor } from '../transfers-service';
import { checkShape, figureErrors, frozenPeriodError, receiverError, senderAccess, type FieldError } from '../transfer-rules';
import { CsvSyntaxError, csvLine, parseCsv } from '../csv-parse';
import { durationMs } from '../../workflows/matching';
import { transferWorkflow } from '../../workflows/transfer';
import { auditRow } from '../audit-row';

export const MAX_LINES = 10_000;
/** Transfers (and their audit rows) written per transaction. */
const BATCH = 1000;
/** Workflow starts in flight at once, across the imports of the process (more only slows a SQLite-backed dev server down). */
const START_CONCURRENCY = 32;
/** Temporal task queue priority of imported transfers' workflows (1 highest … 5 lowest; default 3). */
const IMPORT_PRIORITY = 4;
/** 10,000 lines with the longest memos (500 CJK characters) fit. */
const BODY_LIMIT = 32 * 1024 * 1024;
const PROGRESS_EVERY_MS = 250;
/** How long the answer of a (synchronous) import waits for the workflow starts after the last line is saved. */
const SYNC_WAIT_MS = 10_000;
/** …when no more than this many are left to start (more would not make it in time anyway). */
const SYNC_WAIT_STARTS = 300;

/** Columns of the CSV file, in the template's order (the header names them; any order is accepted). */
export const CSV_COLUMNS: ReadonlyArray<{ name: keyof CreateTransferBody; required: boolean; description: string }> = [
  { name: 'senderEntity', required: true, description: 'code of the sending entity; you must be one of its accountants' },
  { name: 'receiverEntity', required: true, description: 'code of the receiving entity of the same group' },
  { name: 'type', required: true, description: 'GOODS, SERVICE, LOAN or COST_ALLOCATION' },
  { name: 'externalRef', required: true, description: "the sender's document number (1-64 characters), unique per sender: the idempotency key" },
  { name: 'quantity', required: false, description: 'exact decimal, up to 6 decimals; with unitPrice and unit, or empty' },
  { name: 'unit', required: false, description: 'group-standard unit (PCS, KG, H); required with quantity' },
  { name: 'unitPrice', required: false, description: 'exact decimal, up to 6 decimals; with quantity, or empty' },
  { name: 'amount', required: true, description: 'exact decimal, up to 2 decimals, no thousands separators; = quantity × unitPrice to the cent' },
  { name: 'currency', required: true, description: 'ISO 4217 code, e.g. CNY' },
  { name: 'documentDate', required: true, description: 'YYYY-MM-DD' },
  { name: 'period', required: true, description: 'accounting period YYYY-MM; refused if frozen' },
  { name: 'memo', required: false, description: 'free text, at most 500 characters' },
];
const COLUMN_NAMES = new Set<string>(CSV_COLUMNS.map((c) => c.name));

const columnsDoc = CSV_COLUMNS.map((c) => `- \`${c.name}\`${c.required ? ' (required)' : ''}: ${c.description}`).join('\n');

// ---- schemas ----------------------------------------------------------------------------

const LineError = Type.Object({ field: Type.String({ description: 'the field, or (line) for the whole line' }), reason: Type.String() });
const LineResult = Type.Object({
  line: Type.Integer({ description: 'JSON: index in transfers + 1; CSV: record number after the header (1 = the first data row; blank rows count)' }),
  externalRef: Type.Union([Type.String(), Type.Null()]),
  status: StringEnum(['created', 'existed', 'error'] as const),
  transferId: Type.Optional(Type.String({ format: 'uuid' })),
  errors: Type.Optional(Type.Array(LineError)),
  warning: Type.Optional(Type.String({ description: 'the transfer is saved but its workflow could not be started yet: the worker starts it within a few minutes of Temporal coming back, or send the file again' })),
});
type LineResult = Static<typeof LineResult>;

const ImportStatus = StringEnum(['RUNNING', 'DONE', 'FAILED'] as const, {
  description: 'RUNNING until every line is answered and every created transfer has its workflow started; FAILED: interrupted (send the same file again)',
});
const ImportSummary = Type.Object({
  importId: Type.String({ format: 'uuid' }),
  status: ImportStatus,
  format: StringEnum(['json', 'csv'] as const),
  total: Type.Integer({ description: 'lines in the file' }),
  processed: Type.Integer({ description: 'lines answered so far (created, existed or error)' }),
  created: Type.Integer(),
  existed: Type.Integer(),
  failed: Type.Integer(),
  workflowsPending: Type.Integer({ description: 'created transfers whose workflow is still being started' }),
  message: Type.Union([Type.String(), Type.Null()], { description: 'why it FAILED, or what needs attention' }),
  createdBy: Type.String({ format: 'uuid' }),
  createdAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const ImportDetail = Type.Composite([
  ImportSummary,
  Type.Object({ results: Type.Union([Type.Array(LineResult), Type.Null()], { description: 'per line, in file order; null until every line is answered' }) }),
]);

const ImportQuery = Type.Object(
  { async: Type.Optional(Type.Boolean({ description: 'answer 202 at once and import in the background; follow GET /api/imports/{id}' })) },
  { additionalProperties: false },
);
const ListQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }) }, { additionalProperties: false });

// ---- the import -------------------------------------------------------------------------

interface Item {
  line: number;
  input: unknown;
  /** Problems found before the shape check (CSV: wrong number of fields). */
  errors?: FieldError[];
}

interface EntityRow {
  id: string;
  code: string;
  groupId: string;
  confirmWithin: string | null;
  group: { confirmWithin: string };
}

interface Candidate {
  idx: number;
  body: CreateTransferBody;
  sender: EntityRow;
  receiver?: EntityRow;
}

interface ImportRow {
  id: string;
  createdById: string;
  groupIds: string[];
  format: string;
  status: 'RUNNING' | 'DONE' | 'FAILED';
  total: number;
  processed: number;
  created: number;
  existed: number;
  failed: number;
  workflowsPending: number;
  results?: Prisma.JsonValue | null;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/** A RUNNING import whose row has not moved for this long was interrupted (the API stopped). */
const STALE_MS = 5 * 60_000;

function summary(r: ImportRow, now = Date.now()) {
  const stale = r.status === 'RUNNING' && now - r.updatedAt.getTime() > STALE_MS;
  return {
    importId: r.id,
    status: stale ? ('FAILED' as const) : r.status,
    format: r.format as 'json' | 'csv',
    total: r.total,
    processed: r.processed,
    created: r.created,
    existed: r.existed,
    failed: r.failed,
    workflowsPending: r.workflowsPending,
    message: stale
      ? `the import stopped after ${r.processed} of ${r.total} lines (the server was restarted?): send the same file again to finish it; the lines already created are reported as existed`
      : r.error,
    createdBy: r.createdById,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt ? r.finishedAt.toISOString() : null,
  };
}

/** Runs at most `n` of the given functions at once. */
function limiter(n: number) {
  let active = 0;
  const queue: Array<() => void> = [];
  const next = () => {
    if (active >= n) return;
    const run = queue.shift();
    if (run) {
      active += 1;
      run();
    }
  };
  return <T>(fn: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => {
        fn()
          .then(resolve, reject)
          .finally(() => {
            active -= 1;
            next();
          });
      });
      next();
    });
}

/** What the imports of one API process share. */
interface Starter {
  /** Bounds the workflow starts in flight across all imports of this process. */
  limit: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Transfers whose workflow start is queued or in flight here. */
  pending: Set<string>;
  /** The server is closing: start nothing more. */
  closing: boolean;
}

/** Turns the request body into lines; a structural problem of the file is a 400. */
function linesOf(fastify: FastifyInstance, body: unknown): { format: 'json' | 'csv'; items: Item[] } {
  const bad = (message: string, code: string) => Object.assign(fastify.httpErrors.badRequest(message), { code });
  if (typeof body === 'string') {
    if (body.includes('\uFFFD')) throw bad('the file is not UTF-8 text: save it as "CSV UTF-8"', 'CSV_ENCODING');
    let records;
    try {
      records = parseCsv(body);
    } catch (err) {
      if (err instanceof CsvSyntaxError) throw bad(err.message, 'CSV_SYNTAX');
      throw err;
    }
    const blank = (f: string[]) => f.every((x) => x.trim() === '');
    const headerAt = records.findIndex((r) => !blank(r.fields));
    if (headerAt === -1) throw bad('the file is empty: expected a header row and at least one transfer', 'CSV_EMPTY');
    const header = records[headerAt]!.fields.map((h) => h.trim());
    // Columns without a name (spreadsheets leave trailing empty ones) are ignored.
    const unknown = header.filter((h) => h !== '' && !COLUMN_NAMES.has(h));
    const twice = header.filter((h, i) => h !== '' && header.indexOf(h) !== i);
    const missing = CSV_COLUMNS.filter((c) => c.required && !header.includes(c.name)).map((c) => c.name);
    if (unknown.length || twice.length || missing.length) {
      const parts = [
        unknown.length ? `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((h) => JSON.stringify(h)).join(', ')}` : '',
        twice.length ? `repeated column${twice.length > 1 ? 's' : ''} ${[...new Set(twice)].join(', ')}` : '',
        missing.length ? `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` : '',
      ].filter(Boolean);
      throw bad(`CSV header: ${parts.join('; ')} (expected ${CSV_COLUMNS.map((c) => c.name).join(',')}; see GET /api/transfers/import/template)`, 'CSV_HEADER');
    }
    const items: Item[] = [];
    for (let k = headerAt + 1; k < records.length; k++) {
      const r = records[k]!;
      if (blank(r.fields)) continue; // blank rows (spreadsheets add them) are no lines
      const line = k - headerAt;
      if (r.fields.length !== header.length) {
        const ref = r.fields[header.indexOf('externalRef')]?.trim();
        items.push({
          line,
          input: ref ? { externalRef: ref } : null,
          errors: [{ field: '(line)', reason: `has ${r.fields.length} fields, the header has ${header.length} (file line ${r.fileLine})` }],
        });
        continue;
      }
      const obj: Record<string, string> = {};
      header.forEach((h, i) => {
        const v = r.fields[i]!.trim();
        if (h !== '' && v !== '') obj[h] = v; // an empty cell is an absent field
      });
      items.push({ line, input: obj });
    }
    if (!items.length) throw bad('the file has a header but no transfers', 'CSV_EMPTY');
    if (items.length > MAX_LINES) throw bad(`the file has ${items.length} transfers: at most ${MAX_LINES} per request; split it`, 'TOO_MANY_LINES');
    return { format: 'csv', items };
  }
  const transfers = (body as { transfers?: unknown } | null | undefined)?.transfers;
  if (!Array.isArray(transfers) || transfers.length === 0) {
    throw bad('send a JSON body { "transfers": [ … ] } or a text/csv file (see GET /api/transfers/import/template)', 'NO_LINES');
  }
  return { format: 'json', items: transfers.map((input, i) => ({ line: i + 1, input })) };
}

const refOf = (input: unknown): string | null => {
  const v = typeof input === 'object' && input !== null ? (input as { externalRef?: unknown }).externalRef : undefined;
  return typeof v === 'string' ? v : v === undefined || v === null ? null : String(v);
};

/** A PENDING transfer with no task this long after it was saved has probably lost its workflow start: a resend starts it. */
const RESTART_AFTER_MS = 2 * 60_000;

function cause(err: unknown): string {
  const down = unavailableDependency(err);
  return down ? `the ${down} is unavailable` : 'internal error';
}

/**
 * One import: `writeLines()` answers every line, saves the good ones and starts their
 * workflows; `complete()` waits for the starts and records the outcome.
 */
class ImportRun {
  private readonly prisma;
  private readonly temporal;
  private readonly taskQueue: string;
  readonly results: LineResult[];
  readonly counts = { processed: 0, created: 0, existed: 0, failed: 0, workflowsPending: 0 };
  private notStarted = 0;
  private temporalDown: unknown = null;
  private readonly toStart: Array<{ transferId: string; workflowId: string; idx: number | null }> = [];
  private readonly starts: Array<Promise<void>> = [];
  private progressChain: Promise<void> = Promise.resolve();
  private lastProgress = 0;
  private readonly senders = new Set<string>();
  /** Milliseconds spent checking the lines and saving them (logged). */
  readonly timings = { checkMs: 0, saveMs: 0 };

  constructor(
    private readonly fastify: FastifyInstance,
    private readonly starter: Starter,
    private readonly actor: AuthUser,
    readonly importId: string,
    private readonly items: Item[],
    private readonly format: 'json' | 'csv',
  ) {
    this.prisma = fastify.deps.prisma;
    this.temporal = fastify.deps.temporal;
    this.taskQueue = fastify.deps.config.TEMPORAL_TASK_QUEUE;
    this.results = new Array(items.length);
  }

  get answered(): LineResult[] {
    return this.results.filter(Boolean);
  }

  private fail(idx: number, errs: FieldError[]) {
    const it = this.items[idx]!;
    this.results[idx] = { line: it.line, externalRef: refOf(it.input), status: 'error', errors: errs };
    this.counts.failed += 1;
    this.counts.processed += 1;
  }

  private existed(idx: number, transferId: string) {
    const it = this.items[idx]!;
    this.results[idx] = { line: it.line, externalRef: refOf(it.input), status: 'existed', transferId };
    this.counts.existed += 1;
    this.counts.processed += 1;
  }

  /** Writes the counters to the Import row (serialized; throttled unless forced; never fails the import). */
  private progress(force = false, extra: Prisma.ImportUpdateInput = {}): Promise<void> {
    const now = Date.now();
    if (!force && now - this.lastProgress < PROGRESS_EVERY_MS) return this.progressChain;
    this.lastProgress = now;
    this.progressChain = this.progressChain.then(async () => {
      try {
        await this.prisma.import.update({ where: { id: this.importId }, data: { ...this.counts, ...extra } });
      } catch (err) {
        this.fastify.log.warn({ err, importId: this.importId }, 'could not record import progress');
      }
    });
    return this.progressChain;
  }

  /** Notes a transfer whose workflow must start (once every line is saved: the saving goes faster alone). */
  private queueStart(transferId: string, workflowId: string, idx: number | null) {
    this.counts.workflowsPending += 1;
    this.starter.pending.add(transferId);
    this.toStart.push({ transferId, workflowId, idx });
  }

  /** Starts the noted workflows, bounded across the process. */
  private startQueued() {
    for (const { transferId, workflowId, idx } of this.toStart.splice(0)) {
      this.starts.push(
        this.starter.limit(() => this.startWorkflow(transferId, workflowId, idx)).finally(() => {
          this.starter.pending.delete(transferId);
          this.counts.workflowsPending -= 1;
          void this.progress();
        }),
      );
    }
  }

  private async startWorkflow(transferId: string, workflowId: string, idx: number | null): Promise<void> {
    if (!this.temporalDown && !this.starter.closing) {
      try {
        await this.temporal.workflow.start(transferWorkflow, {
          taskQueue: this.taskQueue,
          workflowId,
          args: [{ transferId }],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          // Below the default (3): transfers booked one by one, and people's actions on
          // them, go ahead of an import's backlog on the shared task queue.
          priority: { priorityKey: IMPORT_PRIORITY },
        });
        return;
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return;
        // Stop trying (each attempt would wait for the client's retries): the rows are
        // saved, and sending the file again starts the workflows of these transfers.
        if (!this.temporalDown) this.fastify.log.error({ err, importId: this.importId }, 'could not start transfer workflows; the transfers are saved');
        this.temporalDown = err;
      }
    }
    this.notStarted += 1;
    const why = this.temporalDown ? 'the workflow service is unavailable' : 'the server was stopping';
    if (idx !== null) this.results[idx]!.warning = `the transfer is saved but its workflow could not be started (${why}): it starts by itself within a few minutes of the service coming back, or when you send the file again`;
  }

  /** Answers every line; the workflows of the created transfers are queued as each batch is saved. */
  async writeLines(): Promise<void> {
    const { prisma, actor, items } = this;
    const t0 = Date.now();

    // 1. Shape of every line.
    const shaped: Array<{ idx: number; body: CreateTransferBody }> = [];
    items.forEach((it, idx) => {
      if (it.errors) return this.fail(idx, it.errors);
      const s = checkShape(it.input);
      if (!s.ok) return this.fail(idx, s.errors);
      shaped.push({ idx, body: s.body });
    });

    // 2. Entities named in the file (one query).
    const codes = [...new Set(shaped.flatMap((s) => [s.body.senderEntity, s.body.receiverEntity]))];
    const entities: EntityRow[] = codes.length
      ? await prisma.entity.findMany({
          where: { code: { in: codes } },
          select: { id: true, code: true, groupId: true, confirmWithin: true, group: { select: { confirmWithin: true } } },
        })
      : [];
    const byCode = new Map(entities.map((e) => [e.code, e]));

    // 3. The caller's senders only; the same document twice in the file.
    const firstLine = new Map<string, number>();
    const candidates: Candidate[] = [];
    for (const s of shaped) {
      const sender = byCode.get(s.body.senderEntity);
      const access = senderAccess(actor, sender, s.body.senderEntity);
      if (access) {
        this.fail(s.idx, [access.error]);
        continue;
      }
      const key = `${sender!.id}|${s.body.externalRef}`;
      const earlier = firstLine.get(key);
      if (earlier !== undefined) {
        this.fail(s.idx, [{ field: 'externalRef', reason: `the same document (${s.body.senderEntity}, ${s.body.externalRef}) is already on line ${earlier} of this file` }]);
        continue;
      }
      firstLine.set(key, items[s.idx]!.line);
      candidates.push({ ...s, sender: sender! });
    }

    // 4. Already booked (one query); frozen periods (one query); the other rules.
    const existing = await this.findExisting(candidates);
    const groupIds = [...new Set(candidates.map((c) => c.sender.groupId))];
    const periods = [...new Set(candidates.map((c) => c.body.period))];
    const frozen = new Set(
      groupIds.length
        ? (
            await prisma.period.findMany({
              where: { groupId: { in: groupIds }, period: { in: periods }, status: 'FROZEN' },
              select: { groupId: true, period: true },
            })
          ).map((p) => `${p.groupId}|${p.period}`)
        : [],
    );
    const toCreate: Candidate[] = [];
    const now = Date.now();
    for (const c of candidates) {
      this.senders.add(c.sender.id);
      const ex = existing.get(`${c.sender.id}|${c.body.externalRef}`);
      if (ex) {
        this.existed(c.idx, ex.id);
        // Saved long ago without a first task, and not being started here: its start was
        // lost (the API stopped during an import, Temporal was down): start it now.
        if (ex.status === 'PENDING' && !ex.hasTask && now - ex.createdAt.getTime() > RESTART_AFTER_MS && !this.starter.pending.has(ex.id)) {
          this.queueStart(ex.id, ex.workflowId, null);
        }
        continue;
      }
      const receiver = byCode.get(c.body.receiverEntity);
      const errs: FieldError[] = [];
      const r = receiverError(c.sender, receiver, c.body.receiverEntity);
      if (r) errs.push(r);
      errs.push(...figureErrors(c.body));
      if (frozen.has(`${c.sender.groupId}|${c.body.period}`)) errs.push(frozenPeriodError(c.body.period));
      if (errs.length) this.fail(c.idx, errs);
      else toCreate.push({ ...c, receiver });
    }
    await this.progress(true);
    const t1 = Date.now();
    this.timings.checkMs = t1 - t0;

    // 5. Save in batches, then start the workflows.
    try {
      for (let k = 0; k < toCreate.length; k += BATCH) {
        await this.writeBatch(toCreate.slice(k, k + BATCH));
        await this.progress(true);
      }
      await this.progress(true, { results: this.answered as unknown as Prisma.InputJsonValue });
      this.timings.saveMs = Date.now() - t1;
    } finally {
      this.startQueued(); // what is saved gets its workflow, even if a later batch failed
    }
  }

  /** One query: the transfers already booked for these (sender, externalRef) pairs. */
  private async findExisting(cands: Array<{ sender: { id: string }; body: { externalRef: string } }>) {
    type Row = { id: string; s: string; ref: string; workflowId: string; status: string; hasTask: boolean; createdAt: Date };
    const out = new Map<string, Row>();
    if (!cands.length) return out;
    const rows = await this.prisma.$queryRaw<Row[]>`
      SELECT t.id::text AS id, t."senderEntityId"::text AS s, t."externalRef" AS ref, t."workflowId" AS "workflowId",
             t.status::text AS status, t."createdAt" AS "createdAt",
             EXISTS (SELECT 1 FROM "Task" k WHERE k."transferId" = t.id) AS "hasTask"
      FROM "Transfer" t
      JOIN unnest(${cands.map((c) => c.sender.id)}::uuid[], ${cands.map((c) => c.body.externalRef)}::text[]) AS p(s, ref)
        ON t."senderEntityId" = p.s AND t."externalRef" = p.ref`;
    for (const r of rows) out.set(`${r.s}|${r.ref}`, r);
    return out;
  }

  /** Saves a batch: the transfers and their TRANSFER_CREATED audit rows in one transaction. */
  private async writeBatch(batch: Candidate[]): Promise<void> {
    const { actor } = this;
    const now = Date.now();
    const data = batch.map((c) => {
      const b = c.body;
      const within = durationMs(c.receiver!.confirmWithin ?? c.sender.group.confirmWithin);
      return {
        id: crypto.randomUUID(),
        workflowId: workflowIdFor(c.sender.code, b.externalRef),
        senderEntityId: c.sender.id,
        receiverEntityId: c.receiver!.id,
        type: b.type,
        externalRef: b.externalRef,
        quantity: b.quantity ?? null,
        unit: b.unit ?? null,
        unitPrice: b.unitPrice ?? null,
        amount: b.amount,
        currency: b.currency,
        documentDate: b.documentDate,
        period: b.period,
        memo: b.memo ?? null,
        createdById: actor.userId,
        dueAt: new Date(now + within),
      };
    });
    const inserted = await this.prisma.$transaction(
      async (tx) => {
        // One statement for the batch (Prisma's createManyAndReturn takes ~7 times longer).
        // Another request may have booked some of these since step 4: skipped here
        // (ON CONFLICT: sender + externalRef, or workflowId), reported as existed.
        const col = <K extends keyof (typeof data)[number]>(k: K) => data.map((d) => d[k]);
        const rows = await tx.$queryRaw<Array<{ id: string }>>`
          INSERT INTO "Transfer" (id, "workflowId", "senderEntityId", "receiverEntityId", type, "externalRef", quantity, unit, "unitPrice",
                                  amount, currency, "documentDate", period, memo, "createdById", "dueAt", "updatedAt")
          SELECT x.id, x.w, x.s, x.r, x.t::"TransferType", x.e, x.q, x.u, x.p, x.a, x.c, x.d, x.pe, x.m, x.cb, x.du, now()
          FROM unnest(${col('id')}::uuid[], ${col('workflowId')}::text[], ${col('senderEntityId')}::uuid[], ${col('receiverEntityId')}::uuid[],
                      ${col('type')}::text[], ${col('externalRef')}::text[], ${col('quantity')}::numeric[], ${col('unit')}::text[],
                      ${col('unitPrice')}::numeric[], ${col('amount')}::numeric[], ${col('currency')}::text[], ${col('documentDate')}::date[],
                      ${col('period')}::text[], ${col('memo')}::text[], ${col('createdById')}::uuid[], ${data.map((d) => d.dueAt.toISOString())}::timestamptz[])
            AS x(id, w, s, r, t, e, q, u, p, a, c, d, pe, m, cb, du)
          ON CONFLICT DO NOTHING
          RETURNING id::text AS id`;
        const ids = new Set(rows.map((r) => r.id));
        const audit = data.flatMap((d, i) =>
          ids.has(d.id)
            ? [
                {
                  actorId: actor.userId,
                  actorName: actor.name,
                  actorIp: actor.ip,
                  requestId: actor.requestId,
                  action: 'TRANSFER_CREATED',
                  objectType: 'transfer',
                  objectId: d.id,
                  transferId: d.id,
                  entityIds: [d.senderEntityId, d.receiverEntityId],
                  after: { ...batch[i]!.body, status: 'PENDING', dueAt: d.dueAt.toISOString(), workflowId: d.workflowId, importId: this.importId } as Prisma.InputJsonValue,
                  workflowId: d.workflowId,
                },
              ]
            : [],
        );
        if (audit.length) await tx.auditEvent.createMany({ data: audit });
        return ids;
      },
      { maxWait: 30_000, timeout: 120_000 },
    );
    const raced: Candidate[] = [];
    data.forEach((d, i) => {
      const c = batch[i]!;
      if (inserted.has(d.id)) {
        this.results[c.idx] = { line: this.items[c.idx]!.line, externalRef: c.body.externalRef, status: 'created', transferId: d.id };
        this.counts.created += 1;
        this.counts.processed += 1;
        this.queueStart(d.id, d.workflowId, c.idx);
      } else {
        raced.push(c);
      }
    });
    if (raced.length) {
      const existing = await this.findExisting(raced);
      for (const c of raced) {
        const ex = existing.get(`${c.sender.id}|${c.body.externalRef}`);
        if (ex) this.existed(c.idx, ex.id);
        else this.fail(c.idx, [{ field: 'externalRef', reason: 'could not be saved: another transfer has the same workflow id' }]);
      }
    }
  }

  /** Waits for the workflow starts, then records the outcome: Import DONE and one TRANSFERS_IMPORTED audit row, one transaction. */
  async complete(): Promise<ImportRow> {
    await Promise.all(this.starts);
    await this.progressChain;
    const message = this.notStarted
      ? `${this.notStarted} transfer(s) are saved but their workflow could not be started: send the same file again in a few minutes to start them`
      : null;
    const { actor } = this;
    return this.prisma.$transaction(async (tx) => {
      const row = await tx.import.update({
        where: { id: this.importId },
        data: { ...this.counts, status: 'DONE', results: this.answered as unknown as Prisma.InputJsonValue, error: message, finishedAt: new Date() },
        omit: { results: true },
      });
      await tx.auditEvent.create({
        data: auditRow(actor, {
          action: 'TRANSFERS_IMPORTED',
          objectType: 'import',
          objectId: this.importId,
          entityIds: [...this.senders],
          after: { format: this.format, total: row.total, created: row.created, existed: row.existed, failed: row.failed, workflowsNotStarted: this.notStarted },
        }),
      });
      return row;
    });
  }

  /** Records an import that stopped on an error (the lines created so far stay created; the error is logged by the caller). */
  async failed(err: unknown): Promise<void> {
    await Promise.allSettled(this.starts);
    await this.progressChain;
    await this.prisma.import
      .update({
        where: { id: this.importId },
        data: {
          ...this.counts,
          status: 'FAILED',
          results: this.answered as unknown as Prisma.InputJsonValue,
          // The cause is in the log (like any 500, it is not shown): the unavailable dependency, if that was it.
          error: `the import stopped after ${this.counts.processed} of ${this.items.length} lines (${cause(err)}): send the same file again to finish it`,
          finishedAt: new Date(),
        },
      })
      .catch((e) => this.fastify.log.error({ err: e, importId: this.importId }, 'could not record the failed import'));
  }

  /** The import as it stands (for the answer of POST). */
  view(row: Pick<ImportRow, 'createdById' | 'createdAt'>, done: ImportRow | null) {
    const counts = done ?? { ...this.counts };
    return {
      importId: this.importId,
      status: done ? done.status : ('RUNNING' as const),
      format: this.format,
      total: this.items.length,
      processed: counts.processed,
      created: counts.created,
      existed: counts.existed,
      failed: counts.failed,
      workflowsPending: counts.workflowsPending,
      message: done ? done.error : null,
      createdBy: row.createdById,
      createdAt: row.createdAt.toISOString(),
      finishedAt: done?.finishedAt ? done.finishedAt.toISOString() : null,
      results: this.answered,
    };
  }
}

// ---- routes -----------------------------------------------------------------------------

const imports: FastifyPluginAsync = async (fastify) => {
  const { prisma } = fastify.deps;
  const starter: Starter = { limit: limiter(START_CONCURRENCY), pending: new Set(), closing: false };
  const running = new Set<Promise<unknown>>();

  // CSV arrives as text (scoped to this plugin). Any other type but JSON is a 415.
  fastify.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) => done(null, body));
  // Closing: start no more workflows (the imports record which are left, a resend starts
  // them), let the running imports record their outcome before Prisma goes.
  fastify.addHook('onClose', async () => {
    starter.closing = true;
    await Promise.allSettled([...running]);
  });

  async function accountantGroups(actor: AuthUser): Promise<string[]> {
    const ids = actor.memberships.filter((m) => m.role === 'ACCOUNTANT').map((m) => m.entityId);
    if (!ids.length) return [];
    const rows = await prisma.entity.findMany({ where: { id: { in: ids } }, select: { groupId: true } });
    return [...new Set(rows.map((r) => r.groupId))];
  }

  function visible(actor: AuthUser, row: { createdById: string; groupIds: string[] }): boolean {
    if (row.createdById === actor.userId) return true;
    return !!actor.groupRole && row.groupIds.some((g) => actor.groupIds.includes(g));
  }

  fastify.post(
    '/transfers/import',
    {
      onRequest: [fastify.authenticate],
      bodyLimit: BODY_LIMIT,
      schema: {
        tags: ['transfers'],
        summary: `import up to ${MAX_LINES} transfers (JSON or CSV) with per-line results; idempotent by sender + externalRef`,
        description: [
          'Each line is checked like POST /api/transfers and answered on its own: `created`, `existed` (the sender already booked',
          'this externalRef: nothing is created, so sending the same file twice is harmless) or `error` with the field and the',
          'reason. One bad line never stops the others. A line in a frozen period, a repeat of an earlier line of the same file',
          '(same sender and externalRef), a sender you are not an accountant of: errors of that line.',
          '',
          'Send `application/json` `{ "transfers": [ { …the body of POST /api/transfers… } ] }` or `text/csv` (UTF-8, a BOM is',
          'fine, RFC 4180, comma-separated, header row first: GET /api/transfers/import/template). Empty CSV cells are absent',
          'fields; blank rows are skipped (but counted in line numbers). CSV columns, in any order:',
          columnsDoc,
          '',
          'The answer (200) comes once every line is answered (saved or refused). The created transfers\' workflows are started',
          `next, with bounded concurrency; the answer waits up to ${SYNC_WAIT_MS / 1000} s for up to ${SYNC_WAIT_STARTS} of them. Otherwise \`status\` is`,
          'RUNNING with `workflowsPending` > 0, and GET /api/imports/{id} shows DONE once they are all started.',
          'With `?async=true` the answer is 202 at once; GET /api/imports/{id} shows the progress, then the results.',
          'An interrupted import (status FAILED) is finished by sending the same file again.',
        ].join('\n'),
        querystring: ImportQuery,
        body: {
          content: {
            'application/json': {
              schema: Type.Object(
                { transfers: Type.Array(Type.Unknown({ description: 'a transfer: the body of POST /api/transfers' }), { minItems: 1, maxItems: MAX_LINES }) },
                { additionalProperties: false },
              ),
            },
            'text/csv': { schema: Type.String({ description: 'CSV, UTF-8, header row first' }) },
          },
        },
        response: {
          200: ImportDetail,
          202: ImportSummary,
          ...errors(400, 401, 403, 413, 415),
        },
      },
    },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const actor = request.actor;
      const { async: background } = request.query as Static<typeof ImportQuery>;
      const { format, items } = linesOf(fastify, request.body);
      const groupIds = await accountantGroups(actor);
      if (!groupIds.length) throw fastify.httpErrors.forbidden('only accountants import transfers, and you are an accountant of no entity');
      const row = await prisma.import.create({ data: { createdById: actor.userId, groupIds, format, total: items.length }, omit: { results: true } });
      const run = new ImportRun(fastify, starter, actor, row.id, items, format);
      const lines = run.writeLines();
      let done: ImportRow | null = null;
      const all = lines.then(() => run.complete()).then((r) => (done = r));
      const tracked = all.catch(async (err) => {
        request.log.error({ err, importId: row.id }, 'import failed');
        await run.failed(err);
      });
      running.add(tracked);
      void tracked.finally(() => running.delete(tracked));

      if (background) return reply.status(202).header('location', `/api/imports/${row.id}`).send(summary(row));
      await lines; // a failure here is the answer (500 / 503); the import is recorded as FAILED
      if (run.counts.workflowsPending <= SYNC_WAIT_STARTS) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([all.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, SYNC_WAIT_MS)))]);
        clearTimeout(timer);
      }
      const view = run.view(row, done);
      request.log.info(
        { importId: row.id, total: view.total, created: view.created, existed: view.existed, failed: view.failed, workflowsPending: view.workflowsPending, ...run.timings },
        'import answered',
      );
      return reply.status(200).header('location', `/api/imports/${row.id}`).send(view);
    },
  );

  fastify.get(
    '/transfers/import/template',
    {
      onRequest: [fastify.authenticate],
      schema: {
        tags: ['transfers'],
        summary: 'the CSV template of POST /api/transfers/import: the header and one example row (your entity as sender)',
        description: ['UTF-8 with BOM (Excel opens it as UTF-8), comma-separated, CRLF. Columns:', columnsDoc].join('\n'),
        produces: ['text/csv'],
        response: {
          200: { description: 'the template', content: { 'text/csv': { schema: Type.String() } } },
          ...errors(401),
        },
      },
    },
    async (request, reply) => {
      const actor = request.actor;
      const mine = actor.memberships.filter((m) => m.role === 'ACCOUNTANT').map((m) => m.entityId);
      const sender = mine.length
        ? await prisma.entity.findFirst({ where: { id: { in: mine } }, orderBy: { code: 'asc' }, select: { id: true, code: true, groupId: true, functionalCurrency: true } })
        : null;
      const receiver = sender
        ? await prisma.entity.findFirst({
            where: { groupId: sender.groupId, id: { not: sender.id } },
            orderBy: [{ kind: 'desc' }, { code: 'asc' }], // SUBSIDIARY before HQ
            select: { code: true },
          })
        : null;
      const today = new Date().toISOString().slice(0, 10);
      const example: Record<string, string> = {
        senderEntity: sender?.code ?? 'SH01',
        receiverEntity: receiver?.code ?? 'SZ02',
        type: 'GOODS',
        externalRef: 'TEMPLATE-EXAMPLE-0001',
        quantity: '10',
        unit: 'PCS',
        unitPrice: '12.5',
        amount: '125.00',
        currency: sender?.functionalCurrency ?? 'CNY',
        documentDate: today,
        period: today.slice(0, 7),
        memo: '示例 example: raw materials, replace or delete this row',
      };
      const text = [csvLine(CSV_COLUMNS.map((c) => c.name)), csvLine(CSV_COLUMNS.map((c) => example[c.name]))].join('\r\n') + '\r\n';
      return reply
        .status(200)
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="transfers-import-template.csv"')
        .send(`\uFEFF${text}`);
    },
  );

  fastify.get(
    '/imports',
    {
      onRequest: [fastify.authenticate],
      schema: {
        tags: ['transfers'],
        summary: 'your imports (HQ finance: also those of its group), newest first, without the per-line results',
        querystring: ListQuery,
        response: { 200: Type.Object({ items: Type.Array(ImportSummary) }), ...errors(400, 401) },
      },
    },
    async (request) => {
      const actor = request.actor;
      const { limit } = request.query as Static<typeof ListQuery>;
      const where: Prisma.ImportWhereInput = actor.groupRole
        ? { OR: [{ createdById: actor.userId }, { groupIds: { hasSome: actor.groupIds } }] }
        : { createdById: actor.userId };
      const rows = await prisma.import.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: limit, omit: { results: true } });
      const now = Date.now();
      return { items: rows.map((r) => summary(r, now)) };
    },
  );

  fastify.get(
    '/imports/:id',
    {
      onRequest: [fastify.authenticate],
      schema: {
        tags: ['transfers'],
        summary: 'one import: its progress, and the per-line results once every line is answered (its creator, or HQ finance of the group)',
        params: IdParams,
        response: { 200: ImportDetail, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParams>;
      const row = await prisma.import.findUnique({ where: { id } });
      if (!row || !visible(request.actor, row)) throw fastify.httpErrors.notFound('import not found');
      return { ...summary(row), results: (row.results as LineResult[] | null) ?? null };
    },
  );
};

export default imports;
