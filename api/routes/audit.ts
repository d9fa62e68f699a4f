// The audit trail (append-only: the application's database role may only SELECT and
// INSERT "AuditEvent", see prisma/migrations/20261122040000_audit_append_only), read
// with filters, newest first, paged; ?format=csv for auditors.
//
// Scope, like everything else:
// - accountants and supervisors see rows whose entityIds include one of their entities;
// - HQ (groupRole set) sees rows whose entityIds include an entity of one of its groups,
//   and group-level rows (no entityIds: period freezes and reopenings, FX rates) that
//   belong to one of its groups: written by a user who is a member of an entity of the
//   group, or by the system in a period freeze of the group (workflow id
//   `period-freeze:<group code>:…`). A group-level row written by the system outside a
//   period freeze belongs to no group and is not shown.
import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { AuthUser } from '../plugins/auth';
import type { Prisma } from '../../prisma/client';
import { EntityCode, StringEnum, Uuid, errors } from '../schemas';
import { CSV_BOM, csvLines, csvText } from '../csv';
import { unprocessable } from '../transfers-service';

/** The most rows one CSV file holds; more matching rows is a 422 (narrow the filters). */
export const CSV_MAX_ROWS = 100_000;
const CSV_BATCH = 2_000;
const NO_MATCH = '00000000-0000-0000-0000-000000000000';

/** Free text of a filter: PostgreSQL text cannot hold NUL, so refuse it (400) rather than fail (500). */
const Text = (opts: { maxLength: number; description?: string; examples?: string[] }) => Type.String({ minLength: 1, pattern: '^[^\\u0000]*$', ...opts });
const DateTime = (description: string) => Type.String({ format: 'date-time', description, examples: ['2026-11-01T00:00:00Z'] });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const AuditEventSchema = Type.Object(
  {
    id: Type.String({ description: 'sequence number (a bigint, as a string): the order events were written in' }),
    key: Nullable(Type.String({ description: 'idempotency key of an event written by the workflow' })),
    at: Type.String({ format: 'date-time' }),
    actorId: Nullable(Uuid),
    actorName: Nullable(Type.String({ description: "the actor's display name, 'system' for the workflow" })),
    actorIp: Nullable(Type.String()),
    action: Type.String({ examples: ['TRANSFER_CREATED'] }),
    objectType: Type.String({ description: 'transfer, task, period, entity, policy, fx-rate, user, …' }),
    objectId: Type.String(),
    transferId: Nullable(Uuid),
    entityIds: Type.Array(Uuid, { description: 'entities concerned (what scoping uses)' }),
    entityCodes: Type.Array(Type.String(), { description: 'codes of entityIds, same order' }),
    before: Type.Unknown({ description: 'value before the change (JSON), or null' }),
    after: Type.Unknown({ description: 'value after the change (JSON), or null' }),
    reason: Nullable(Type.String()),
    requestId: Nullable(Type.String()),
    workflowId: Nullable(Type.String()),
  },
  { title: 'AuditEvent' },
);
type AuditEventView = Static<typeof AuditEventSchema>;

const AuditPage = Type.Object(
  { items: Type.Array(AuditEventSchema), total: Type.Integer(), page: Type.Integer(), pageSize: Type.Integer() },
  { title: 'AuditPage' },
);

const AuditQuery = Type.Object(
  {
    objectType: Type.Optional(Text({ maxLength: 64, examples: ['transfer'] })),
    objectId: Type.Optional(Text({ maxLength: 200 })),
    transferId: Type.Optional(Uuid),
    entity: Type.Optional(Type.String({ pattern: EntityCode.pattern, description: 'entity code: events concerning this entity' })),
    actor: Type.Optional(Text({ maxLength: 100, description: 'username of the acting user' })),
    action: Type.Optional(Text({ maxLength: 64, examples: ['TRANSFER_CONFIRM'] })),
    from: Type.Optional(DateTime('events at or after this instant')),
    to: Type.Optional(DateTime('events before this instant')),
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
    pageSize: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    format: Type.Optional(
      StringEnum(['json', 'csv'] as const, {
        description: `csv: every matching row (at most ${CSV_MAX_ROWS}; page and pageSize are ignored) as a UTF-8 file with BOM`,
      }),
    ),
  },
  { additionalProperties: false },
);
type AuditQuery = Static<typeof AuditQuery>;

type Row = Prisma.AuditEventGetPayload<object>;

const CSV_HEADER = [
  'id',
  'at',
  'actor id',
  'actor name',
  'actor ip',
  'action',
  'object type',
  'object id',
  'transfer id',
  'entity ids',
  'entity codes',
  'before',
  'after',
  'reason',
  'request id',
  'workflow id',
  'key',
];

const json = (v: unknown) => (v === null || v === undefined ? '' : JSON.stringify(v));

function csvRowOf(e: AuditEventView): Array<string | null> {
  return [
    e.id,
    e.at,
    e.actorId,
    csvText(e.actorName),
    csvText(e.actorIp),
    csvText(e.action),
    csvText(e.objectType),
    csvText(e.objectId),
    e.transferId,
    e.entityIds.join(' '),
    csvText(e.entityCodes.join(' ')),
    csvText(json(e.before)),
    csvText(json(e.after)),
    csvText(e.reason),
    csvText(e.requestId),
    csvText(e.workflowId),
    csvText(e.key),
  ];
}

const audit: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { prisma } = fastify.deps;

  /** The rows this user may see (see the top of this file). */
  async function scope(actor: AuthUser): Promise<Prisma.AuditEventWhereInput> {
    if (!actor.groupRole) return { entityIds: { hasSome: actor.memberships.map((m) => m.entityId) } };
    const [entities, groups] = await Promise.all([
      prisma.entity.findMany({ where: { groupId: { in: actor.groupIds } }, select: { id: true } }),
      prisma.group.findMany({ where: { id: { in: actor.groupIds } }, select: { code: true } }),
    ]);
    const entityIds = entities.map((e) => e.id);
    const users = await prisma.membership.findMany({ where: { entityId: { in: entityIds } }, select: { userId: true }, distinct: ['userId'] });
    return {
      OR: [
        { entityIds: { hasSome: entityIds } },
        {
          entityIds: { isEmpty: true },
          OR: [{ actorId: { in: users.map((u) => u.userId) } }, ...groups.map((g) => ({ workflowId: { startsWith: `period-freeze:${g.code}:` } }))],
        },
      ],
    };
  }

  async function where(actor: AuthUser, q: AuditQuery): Promise<Prisma.AuditEventWhereInput> {
    const and: Prisma.AuditEventWhereInput[] = [await scope(actor)];
    if (q.objectType) and.push({ objectType: q.objectType });
    if (q.objectId) and.push({ objectId: q.objectId });
    if (q.transferId) and.push({ transferId: q.transferId });
    if (q.action) and.push({ action: q.action });
    if (q.entity) {
      const e = await prisma.entity.findUnique({ where: { code: q.entity }, select: { id: true } });
      and.push({ entityIds: { has: e?.id ?? NO_MATCH } });
    }
    if (q.actor) {
      const u = await prisma.user.findUnique({ where: { username: q.actor }, select: { id: true } });
      and.push({ actorId: u?.id ?? NO_MATCH });
    }
    if (q.from || q.to) {
      const from = q.from ? new Date(q.from) : undefined;
      const to = q.to ? new Date(q.to) : undefined;
      if (from && to && from >= to) throw unprocessable(fastify, 'to', 'must be after from');
      and.push({ at: { ...(from ? { gte: from } : {}), ...(to ? { lt: to } : {}) } });
    }
    return { AND: and };
  }

  async function views(rows: Row[]): Promise<AuditEventView[]> {
    const ids = [...new Set(rows.flatMap((r) => r.entityIds))];
    const entities = ids.length ? await prisma.entity.findMany({ where: { id: { in: ids } }, select: { id: true, code: true } }) : [];
    const code = new Map(entities.map((e) => [e.id, e.code]));
    return rows.map((r) => ({
      id: r.id.toString(),
      key: r.key,
      at: r.at.toISOString(),
      actorId: r.actorId,
      actorName: r.actorName,
      actorIp: r.actorIp,
      action: r.action,
      objectType: r.objectType,
      objectId: r.objectId,
      transferId: r.transferId,
      entityIds: r.entityIds,
      entityCodes: r.entityIds.map((id) => code.get(id) ?? '?'),
      before: r.before ?? null,
      after: r.after ?? null,
      reason: r.reason,
      requestId: r.requestId,
      workflowId: r.workflowId,
    }));
  }

  /** Every matching row, newest first, in batches (keyset on id, so rows written meanwhile do not shift it). */
  async function* csvFile(w: Prisma.AuditEventWhereInput): AsyncGenerator<string> {
    yield CSV_BOM + csvLines([CSV_HEADER]);
    let below: bigint | undefined;
    for (;;) {
      const rows = await prisma.auditEvent.findMany({
        where: below === undefined ? w : { AND: [w, { id: { lt: below } }] },
        orderBy: { id: 'desc' },
        take: CSV_BATCH,
      });
      if (rows.length === 0) return;
      yield csvLines((await views(rows)).map(csvRowOf));
      if (rows.length < CSV_BATCH) return;
      below = rows[rows.length - 1]!.id;
    }
  }

  app.get(
    '/audit',
    {
      onRequest: [fastify.authenticate],
      schema: {
        tags: ['audit'],
        summary: 'the audit trail in your scope, newest first, with filters; ?format=csv for a file',
        description:
          'Append-only: nobody (the application included) can change or delete an event. ' +
          'Accountants and supervisors see events concerning their entities; HQ finance sees the events of its group(s), ' +
          'including group-level ones (periods, FX rates) written by a user of the group or by a period freeze of the group.',
        querystring: AuditQuery,
        produces: ['application/json', 'text/csv'],
        response: {
          200: {
            description: `a page of events (JSON), or with format=csv every matching event (at most ${CSV_MAX_ROWS}) as CSV, UTF-8 with BOM`,
            content: {
              'application/json': { schema: AuditPage },
              'text/csv': { schema: Type.String({ description: 'CSV, RFC 4180, UTF-8 with BOM, CRLF; one row per event' }) },
            },
          },
          ...errors(400, 401, 422),
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const w = await where(request.actor, q);
      if (q.format === 'csv') {
        const total = await prisma.auditEvent.count({ where: w });
        if (total > CSV_MAX_ROWS) {
          throw Object.assign(unprocessable(fastify, 'format', `${total} events match, more than ${CSV_MAX_ROWS} in one file: narrow the time range (from, to) or the filters`), {
            code: 'TOO_MANY_ROWS',
          });
        }
        const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
        return reply
          .status(200)
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="audit-${stamp}.csv"`)
          .header('x-total-count', String(total))
          // A stream of the file (the type provider only knows the schema's string).
          .send(Readable.from(csvFile(w)) as unknown as string);
      }
      const [rows, total] = await Promise.all([
        prisma.auditEvent.findMany({ where: w, orderBy: { id: 'desc' }, skip: (q.page - 1) * q.pageSize, take: q.pageSize }),
        prisma.auditEvent.count({ where: w }),
      ]);
      return reply.status(200).type('application/json; charset=utf-8').send({ items: await views(rows), total, page: q.page, pageSize: q.pageSize });
    },
  );
};

export default audit;
