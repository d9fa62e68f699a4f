// Reconciliation report of one period, per directed entity pair (sender → receiver):
// counts and amounts by status, overdue, ageing of open items, the open difference and
// a red / amber / green grade. Aggregated in SQL; money is exact (decimal strings).
//
// Definitions (group currency = Group.currency; 1 unit of X = FxRate(group, period, X)):
// - group-currency amounts convert each line exactly and are rounded half-up to the cent
//   only when shown (totals are rounded from the exact sums, not summed from the pairs);
// - a currency with no rate for the period is listed in `missingFxRates` and its lines
//   are left out of every group-currency figure (never guessed); counts still include them;
// - open = PENDING or DISPUTED; age = now − createdAt, buckets [0, 2d), [2d, 7d),
//   [7d, 30d), [30d, ∞); overdue = PENDING past the receiver's deadline (escalated, or dueAt < now);
// - open difference = Σ over open items of |receiptAmount − amount| for a DISPUTED item
//   with the receiver's amount, else the full amount (nobody has matched it yet);
// - grade RED when openDifference > Group.redThreshold, AMBER when > amberThreshold,
//   else GREEN. Red means someone is waiting, not that something is wrong.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import Decimal from 'decimal.js';
import type { AuthUser } from '../plugins/auth';
import type { Prisma } from '../../prisma/client';
import { EntityRef, PeriodString, StringEnum, errors } from '../schemas';
import { transferScope, unprocessable } from '../transfers-service';
import { CSV_BOM, csvLines, csvText } from '../csv';

const STATUSES = ['PENDING', 'CONFIRMED', 'DISPUTED', 'REJECTED', 'WITHDRAWN', 'RESOLVED'] as const;
type Status = (typeof STATUSES)[number];
const BUCKETS = ['0-2d', '2-7d', '7-30d', '>30d'] as const;
type Bucket = (typeof BUCKETS)[number];
const DAY = 24 * 3600_000;

/** Enough precision that sums of Decimal(20,2) × Decimal(20,8) never round. */
const D = Decimal.clone({ precision: 80, rounding: Decimal.ROUND_HALF_UP });
type Dec = InstanceType<typeof D>;
const money = (d: Dec) => d.toFixed(2);

// ---- schemas ----------------------------------------------------------------------

const Money = (description: string) => Type.String({ description: `${description} (exact decimal string, 2 decimals)`, examples: ['1200.50'] });
const StatusCell = Type.Object({
  count: Type.Integer(),
  amountGroup: Money('sum in the group currency, lines without an FX rate left out'),
  amounts: Type.Array(Type.Object({ currency: Type.String(), amount: Money('sum in this transaction currency') }), {
    description: 'per transaction currency',
  }),
});
const ByStatus = Type.Object({
  PENDING: StatusCell,
  CONFIRMED: StatusCell,
  DISPUTED: StatusCell,
  REJECTED: StatusCell,
  WITHDRAWN: StatusCell,
  RESOLVED: StatusCell,
});
const AgeCell = Type.Object({ count: Type.Integer(), amountGroup: Money('sum in the group currency') });
const Ageing = Type.Object(
  { '0-2d': AgeCell, '2-7d': AgeCell, '7-30d': AgeCell, '>30d': AgeCell },
  { description: 'open items (PENDING, DISPUTED) by age = now − createdAt; lower bound inclusive' },
);
const Grade = StringEnum(['RED', 'AMBER', 'GREEN'] as const, { description: 'RED: openDifference > redThreshold; AMBER: > amberThreshold' });
const MissingFx = Type.Array(Type.String(), { description: 'currencies with no FX rate for the period: their lines are not in the group-currency figures' });
const PairSchema = Type.Object({
  sender: EntityRef,
  receiver: EntityRef,
  byStatus: ByStatus,
  overdue: Type.Integer({ description: 'PENDING past their deadline' }),
  ageing: Ageing,
  openDifference: Money('group currency: |receiver − sender| of disputed items with a receiver amount, the full amount of other open items'),
  grade: Grade,
  missingFxRates: MissingFx,
});
const TotalsSchema = Type.Object({
  byStatus: ByStatus,
  overdue: Type.Integer(),
  ageing: Ageing,
  openDifference: Money('group currency'),
  missingFxRates: MissingFx,
});
export const ReconciliationReport = Type.Object(
  {
    period: Type.String(),
    group: Type.String({ description: 'group code' }),
    groupCurrency: Type.String(),
    thresholds: Type.Object({ amber: Type.String(), red: Type.String() }),
    generatedAt: Type.String({ format: 'date-time' }),
    pairs: Type.Array(PairSchema),
    totals: TotalsSchema,
  },
  { title: 'ReconciliationReport' },
);
type Report = Static<typeof ReconciliationReport>;

const ReportQuery = Type.Object(
  {
    period: PeriodString,
    format: Type.Optional(StringEnum(['json', 'csv'] as const, { description: 'csv: a UTF-8 file (with BOM, for Excel), one row per pair' })),
    group: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'group code; needed only by users of several groups' })),
  },
  { additionalProperties: false },
);

// ---- aggregation ------------------------------------------------------------------

interface Cell {
  count: number;
  group: Dec;
  amounts: Map<string, Dec>;
}
interface Acc {
  byStatus: Record<Status, Cell>;
  overdue: number;
  ageing: Record<Bucket, { count: number; group: Dec }>;
  openDifference: Dec;
  missing: Set<string>;
}
const newAcc = (): Acc => ({
  byStatus: Object.fromEntries(STATUSES.map((s) => [s, { count: 0, group: new D(0), amounts: new Map() }])) as Record<Status, Cell>,
  overdue: 0,
  ageing: Object.fromEntries(BUCKETS.map((b) => [b, { count: 0, group: new D(0) }])) as Acc['ageing'],
  openDifference: new D(0),
  missing: new Set(),
});

interface OpenRow {
  s: string;
  r: string;
  currency: string;
  overdue: number;
  n0: number;
  a0: unknown;
  n1: number;
  a1: unknown;
  n2: number;
  a2: unknown;
  n3: number;
  a3: unknown;
  diff: unknown;
}
const dec = (v: unknown) => new D(v === null || v === undefined ? 0 : String(v));

interface GroupRow {
  id: string;
  code: string;
  currency: string;
  redThreshold: Prisma.Decimal;
  amberThreshold: Prisma.Decimal;
}

const reports: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { prisma } = fastify.deps;

  async function resolveGroup(actor: AuthUser, code: string | undefined): Promise<GroupRow> {
    const groups = await prisma.group.findMany({
      where: { id: { in: actor.groupIds } },
      select: { id: true, code: true, currency: true, redThreshold: true, amberThreshold: true },
    });
    if (code !== undefined) {
      const g = groups.find((x) => x.code === code);
      if (!g) throw fastify.httpErrors.notFound(`group: no group ${code} among yours`);
      return g;
    }
    if (groups.length === 1) return groups[0]!;
    if (!groups.length) throw fastify.httpErrors.forbidden('you are a member of no entity, so of no group');
    throw unprocessable(fastify, 'group', `you belong to several groups (${groups.map((g) => g.code).join(', ')}): name one`);
  }

  async function build(actor: AuthUser, group: GroupRow, period: string, now: Date): Promise<Report> {
    const where: Prisma.TransferWhereInput = { AND: [transferScope(actor), { period }, { senderEntity: { groupId: group.id } }] };
    // One snapshot for both queries. The scope is a property of the (sender, receiver)
    // pair, so the pairs found under transferScope are exactly what the second query
    // may look at.
    const { statusRows, openRows } = await prisma.$transaction(
      async (tx) => {
        const statusRows = await tx.transfer.groupBy({
          by: ['senderEntityId', 'receiverEntityId', 'status', 'currency'],
          where,
          _count: { _all: true },
          _sum: { amount: true },
        });
        const pairKeys = [...new Set(statusRows.map((x) => `${x.senderEntityId}|${x.receiverEntityId}`))].map((k) => k.split('|') as [string, string]);
        if (!pairKeys.length) return { statusRows, openRows: [] as OpenRow[] };
        const senders = pairKeys.map((p) => p[0]);
        const receivers = pairKeys.map((p) => p[1]);
        const at = (ms: number) => new Date(now.getTime() - ms).toISOString();
        const [c2, c7, c30] = [at(2 * DAY), at(7 * DAY), at(30 * DAY)];
        const openRows = await tx.$queryRaw<OpenRow[]>`
          SELECT t."senderEntityId"::text AS s, t."receiverEntityId"::text AS r, t.currency::text AS currency,
            (count(*) FILTER (WHERE t.status = 'PENDING' AND (t."escalationLevel" > 0 OR t."dueAt" < ${now.toISOString()}::timestamptz)))::int AS overdue,
            (count(*) FILTER (WHERE t."createdAt" > ${c2}::timestamptz))::int AS n0,
            sum(t.amount) FILTER (WHERE t."createdAt" > ${c2}::timestamptz) AS a0,
            (count(*) FILTER (WHERE t."createdAt" <= ${c2}::timestamptz AND t."createdAt" > ${c7}::timestamptz))::int AS n1,
            sum(t.amount) FILTER (WHERE t."createdAt" <= ${c2}::timestamptz AND t."createdAt" > ${c7}::timestamptz) AS a1,
            (count(*) FILTER (WHERE t."createdAt" <= ${c7}::timestamptz AND t."createdAt" > ${c30}::timestamptz))::int AS n2,
            sum(t.amount) FILTER (WHERE t."createdAt" <= ${c7}::timestamptz AND t."createdAt" > ${c30}::timestamptz) AS a2,
            (count(*) FILTER (WHERE t."createdAt" <= ${c30}::timestamptz))::int AS n3,
            sum(t.amount) FILTER (WHERE t."createdAt" <= ${c30}::timestamptz) AS a3,
            sum(CASE WHEN t.status = 'DISPUTED' AND t."receiptAmount" IS NOT NULL THEN abs(t."receiptAmount" - t.amount) ELSE t.amount END) AS diff
          FROM "Transfer" t
          JOIN unnest(${senders}::uuid[], ${receivers}::uuid[]) AS p(s, r) ON t."senderEntityId" = p.s AND t."receiverEntityId" = p.r
          WHERE t.period = ${period} AND t.status IN ('PENDING', 'DISPUTED')
          GROUP BY t."senderEntityId", t."receiverEntityId", t.currency`;
        return { statusRows, openRows };
      },
      { isolationLevel: 'RepeatableRead' },
    );

    const entityIds = [...new Set(statusRows.flatMap((x) => [x.senderEntityId, x.receiverEntityId]))];
    const [entities, rates] = await Promise.all([
      entityIds.length ? prisma.entity.findMany({ where: { id: { in: entityIds } }, select: { id: true, code: true, name: true } }) : [],
      prisma.fxRate.findMany({ where: { groupId: group.id, period }, select: { currency: true, rate: true } }),
    ]);
    const rateOf = new Map(rates.map((x) => [x.currency, new D(x.rate.toString())]));
    rateOf.set(group.currency, new D(1));

    const accs = new Map<string, Acc>();
    const acc = (s: string, r: string) => {
      const k = `${s}|${r}`;
      let a = accs.get(k);
      if (!a) accs.set(k, (a = newAcc()));
      return a;
    };
    /** Passes `amount` (transaction currency) converted into the group currency to `add`, or flags the currency as missing. */
    const addGroup = (a: Acc, currency: string, amount: Dec, add: (x: Dec) => void) => {
      const rate = rateOf.get(currency);
      if (rate) add(amount.times(rate));
      else a.missing.add(currency);
    };
    for (const x of statusRows) {
      const a = acc(x.senderEntityId, x.receiverEntityId);
      const cell = a.byStatus[x.status as Status];
      const amount = dec(x._sum.amount);
      cell.count += x._count._all;
      cell.amounts.set(x.currency, (cell.amounts.get(x.currency) ?? new D(0)).plus(amount));
      addGroup(a, x.currency, amount, (v) => (cell.group = cell.group.plus(v)));
    }
    for (const x of openRows) {
      const a = acc(x.s, x.r);
      a.overdue += x.overdue;
      const buckets: Array<[Bucket, number, unknown]> = [
        ['0-2d', x.n0, x.a0],
        ['2-7d', x.n1, x.a1],
        ['7-30d', x.n2, x.a2],
        ['>30d', x.n3, x.a3],
      ];
      for (const [b, n, amount] of buckets) {
        const cell = a.ageing[b];
        cell.count += n;
        addGroup(a, x.currency, dec(amount), (v) => (cell.group = cell.group.plus(v)));
      }
      addGroup(a, x.currency, dec(x.diff), (v) => (a.openDifference = a.openDifference.plus(v)));
    }

    const red = new D(group.redThreshold.toString());
    const amber = new D(group.amberThreshold.toString());
    const grade = (d: Dec): Report['pairs'][number]['grade'] => {
      const shown = d.toDecimalPlaces(2);
      return shown.gt(red) ? 'RED' : shown.gt(amber) ? 'AMBER' : 'GREEN';
    };
    const view = (a: Acc) => ({
      byStatus: Object.fromEntries(
        STATUSES.map((s) => {
          const c = a.byStatus[s];
          const amounts = [...c.amounts].sort(([x], [y]) => (x < y ? -1 : 1)).map(([currency, amount]) => ({ currency, amount: money(amount) }));
          return [s, { count: c.count, amountGroup: money(c.group), amounts }];
        }),
      ) as Report['totals']['byStatus'],
      overdue: a.overdue,
      ageing: Object.fromEntries(BUCKETS.map((b) => [b, { count: a.ageing[b].count, amountGroup: money(a.ageing[b].group) }])) as Report['totals']['ageing'],
      openDifference: money(a.openDifference),
      missingFxRates: [...a.missing].sort(),
    });

    const byId = new Map(entities.map((e) => [e.id, e]));
    const ref = (id: string) => byId.get(id) ?? { id, code: '?', name: '?' };
    const pairs = [...accs].map(([k, a]) => {
      const [s, r] = k.split('|') as [string, string];
      const pair: Report['pairs'][number] = { sender: ref(s), receiver: ref(r), ...view(a), grade: grade(a.openDifference) };
      return pair;
    });
    pairs.sort((x, y) => (x.sender.code + '\u0000' + x.receiver.code < y.sender.code + '\u0000' + y.receiver.code ? -1 : 1));

    const total = newAcc();
    for (const a of accs.values()) {
      for (const s of STATUSES) {
        const t = total.byStatus[s];
        const c = a.byStatus[s];
        t.count += c.count;
        t.group = t.group.plus(c.group);
        for (const [cur, amt] of c.amounts) t.amounts.set(cur, (t.amounts.get(cur) ?? new D(0)).plus(amt));
      }
      total.overdue += a.overdue;
      for (const b of BUCKETS) {
        total.ageing[b].count += a.ageing[b].count;
        total.ageing[b].group = total.ageing[b].group.plus(a.ageing[b].group);
      }
      total.openDifference = total.openDifference.plus(a.openDifference);
      for (const m of a.missing) total.missing.add(m);
    }

    return {
      period,
      group: group.code,
      groupCurrency: group.currency,
      thresholds: { amber: money(amber), red: money(red) },
      generatedAt: now.toISOString(),
      pairs,
      totals: view(total),
    };
  }

  app.get(
    '/reports/reconciliation',
    {
      onRequest: [fastify.authenticate],
      schema: {
        tags: ['reports'],
        summary: 'reconciliation of a period per entity pair (sender → receiver) in your scope; ?format=csv for a spreadsheet',
        querystring: ReportQuery,
        produces: ['application/json', 'text/csv'],
        response: {
          200: {
            description: 'the report (JSON), or with format=csv a CSV file (UTF-8 with BOM), one row per pair',
            content: {
              'application/json': { schema: ReconciliationReport },
              'text/csv': { schema: Type.String({ description: 'CSV, RFC 4180, UTF-8 with BOM' }) },
            },
          },
          ...errors(400, 401, 403, 404, 422),
        },
      },
    },
    async (request, reply) => {
      const { period, format, group: groupCode } = request.query;
      const group = await resolveGroup(request.actor, groupCode);
      const report = await build(request.actor, group, period, new Date());
      if (format === 'csv') {
        return reply
          .status(200)
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="reconciliation-${period}.csv"`)
          .send(`${CSV_BOM}${toCsv(report)}`);
      }
      return reply.status(200).type('application/json; charset=utf-8').send(report);
    },
  );
};

// ---- CSV --------------------------------------------------------------------------

export function toCsv(report: Report): string {
  const cur = report.groupCurrency;
  const header = [
    'sender code',
    'sender name',
    'receiver code',
    'receiver name',
    ...STATUSES.flatMap((s) => [`${s} count`, `${s} amount ${cur}`]),
    'overdue',
    ...BUCKETS.map((b) => `open ${b}`),
    `open difference ${cur}`,
    'grade',
    'missing FX rates',
  ];
  const rows = report.pairs.map((p) => [
    csvText(p.sender.code),
    csvText(p.sender.name),
    csvText(p.receiver.code),
    csvText(p.receiver.name),
    ...STATUSES.flatMap((s) => [p.byStatus[s].count, p.byStatus[s].amountGroup]),
    p.overdue,
    ...BUCKETS.map((b) => p.ageing[b].count),
    p.openDifference,
    p.grade,
    p.missingFxRates.join(' '),
  ]);
  return csvLines([header, ...rows]);
}

export default reports;
