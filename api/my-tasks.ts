// GET /api/tasks: the open tasks a user may act on, soonest due first, and how many there
// are (counted up to TOTAL_CAP), in one SQL statement.
//
// A task reaches a user in one of four ways (workflows/rules.ts canAct): assigned to them,
// delegated to them, offered to a role they hold in an entity, or offered to their HQ role
// in their group; never when they created the transfer (separation of duties). Each way is
// one range of its own index on Task, in due order and covering every filter (the creator
// and the group are copied onto Task by a trigger), so each branch reads at most
// max(page end, TOTAL_CAP + 1) index entries and stops: no join, no sort of every matching
// task. The page's rows are then joined to their transfer and to the names they show.
// bench/inbox.ts measures it and prints the plan; docs/benchmarks.md has the figures.
import { createHash } from 'node:crypto';
import { Prisma, pgPoolOf, type PrismaClient } from '../prisma/client';
import type { AuthUser } from './plugins/auth';

/** GET /api/tasks counts open tasks up to this many. */
export const TOTAL_CAP = 1000;

type Actor = Pick<AuthUser, 'userId' | 'memberships' | 'groupRole' | 'groupIds'>;

/**
 * The ways a task reaches the actor, as conditions on Task that never hold together (so
 * their rows can be counted and merged without removing duplicates), in the order of
 * canAct(): assigned; offered to a role the actor holds in the task's entity; offered to
 * the actor's HQ role in the task's group (only when no entity is named); delegated to
 * the actor when none of those already holds.
 */
function ways(actor: Actor): Prisma.Sql[] {
  const me = Prisma.sql`${actor.userId}::uuid`;
  const candidate = actor.memberships.map((m) => Prisma.sql`t."candidateEntityId" = ${m.entityId}::uuid AND t."candidateRole" = ${m.role}::"EntityRole"`);
  const group = actor.groupRole
    ? actor.groupIds.map((g) => Prisma.sql`t."candidateEntityId" IS NULL AND t."candidateGroupRole" = ${actor.groupRole}::"GroupRole" AND t."groupId" = ${g}::uuid`)
    : [];
  const offered = [...candidate, ...group];
  const notOffered = offered.length
    ? Prisma.sql` AND NOT (t."assigneeId" IS NULL AND coalesce(${Prisma.join(offered.map((c) => Prisma.sql`(${c})`), ' OR ')}, false))`
    : Prisma.empty;
  return [
    Prisma.sql`t."assigneeId" = ${me}`,
    ...offered.map((c) => Prisma.sql`t."assigneeId" IS NULL AND ${c}`),
    Prisma.sql`t."delegatedToId" = ${me} AND t."assigneeId" IS DISTINCT FROM ${me}${notOffered}`,
  ];
}

/** Open tasks of one way, not of a transfer the actor created (separation of duties). */
const openOf = (actor: Actor, way: Prisma.Sql) =>
  Prisma.sql`t.status = 'OPEN'::"TaskStatus" AND ${way} AND t."transferCreatedById" IS DISTINCT FROM ${actor.userId}::uuid`;

// The same text as taskViews() / toSummary() make of a Prisma row (tests/e2e/my-tasks.test.ts
// compares them): ISO-8601 UTC instants, dates as YYYY-MM-DD, decimals as decimal.js prints
// them (no trailing zeros; the columns' ranges, numeric(20,2) and (20,6), never reach its
// exponent notation).
const iso = (col: string) => Prisma.raw(`to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
const dec = (col: string) => Prisma.raw(`trim_scale(${col})::text`);
const userRef = (col: string) =>
  Prisma.raw(`CASE WHEN ${col} IS NULL THEN NULL ELSE coalesce((SELECT json_build_object('id', u.id, 'name', u."displayName") FROM "User" u WHERE u.id = ${col}), json_build_object('id', ${col}, 'name', '?')) END`);
const entityRef = (col: string) => Prisma.raw(`(SELECT json_build_object('id', e.id, 'code', e.code, 'name', e.name) FROM "Entity" e WHERE e.id = ${col})`);

/**
 * The statement of one page (page from 1): the whole response body of GET /api/tasks as
 * JSON text, built by PostgreSQL. `now` (ms since the epoch) is the instant the countdowns
 * and the overdue flags are computed for: the same rules as taskViews() and isOverdue().
 */
export function myTasksSql(actor: Actor, page: number, pageSize: number, now: number): Prisma.Sql {
  const offset = (page - 1) * pageSize;
  const ws = ways(actor);
  // Each way is one range of its own index (prisma/schema.prisma), read in due order: the
  // page needs at most offset + pageSize rows of each, the count at most TOTAL_CAP + 1.
  const pageOf = (w: Prisma.Sql) => Prisma.sql`(SELECT t.id, t."dueAt" FROM "Task" t WHERE ${openOf(actor, w)} ORDER BY t."dueAt", t.id LIMIT ${offset + pageSize})`;
  const countOf = (w: Prisma.Sql) => Prisma.sql`(SELECT count(*)::int FROM (SELECT 1 FROM "Task" t WHERE ${openOf(actor, w)} LIMIT ${TOTAL_CAP + 1}) x)`;
  const at = Prisma.sql`to_timestamp(${now}::bigint / 1000.0)`;
  return Prisma.sql`
    WITH page AS (SELECT id, "dueAt" FROM (${Prisma.join(ws.map(pageOf), ' UNION ALL ')}) u ORDER BY "dueAt", id LIMIT ${pageSize} OFFSET ${offset}),
    items AS (
      SELECT p."dueAt", p.id, json_build_object(
        'id', t.id, 'transferId', t."transferId", 'kind', t.kind, 'status', t.status, 'level', t.level, 'escalationLevel', t."escalationLevel",
        'assignee', ${userRef('t."assigneeId"')}, 'delegatedTo', ${userRef('t."delegatedToId"')}, 'onBehalfOf', ${userRef('t."onBehalfOfId"')},
        'candidateEntity', ${entityRef('t."candidateEntityId"')}, 'candidateRole', t."candidateRole", 'candidateGroupRole', t."candidateGroupRole",
        'dueAt', ${iso('t."dueAt"')},
        'timeLeftMs', (extract(epoch FROM t."dueAt") * 1000)::bigint - ${now}::bigint,
        'overdue', t.status = 'OPEN' AND t."dueAt" < ${at},
        'outcome', t.outcome, 'actedBy', ${userRef('t."actedById"')}, 'actedAt', ${iso('t."actedAt"')},
        'comment', t.comment, 'createdAt', ${iso('t."createdAt"')},
        'transfer', json_build_object(
          'id', tr.id, 'workflowId', tr."workflowId", 'senderEntity', ${entityRef('tr."senderEntityId"')}, 'receiverEntity', ${entityRef('tr."receiverEntityId"')},
          'type', tr.type, 'externalRef', tr."externalRef", 'quantity', ${dec('tr.quantity')}, 'unit', tr.unit, 'unitPrice', ${dec('tr."unitPrice"')},
          'amount', ${dec('tr.amount')}, 'currency', tr.currency, 'documentDate', to_char(tr."documentDate", 'YYYY-MM-DD'), 'period', tr.period,
          'memo', tr.memo, 'status', tr.status, 'dueAt', ${iso('tr."dueAt"')},
          'overdue', tr.status = 'PENDING' AND (tr."escalationLevel" > 0 OR tr."dueAt" < ${at}),
          'level', tr.level, 'escalationLevel', tr."escalationLevel",
          'createdBy', ${userRef('tr."createdById"')}, 'createdAt', ${iso('tr."createdAt"')}, 'updatedAt', ${iso('tr."updatedAt"')})
      ) AS item
      FROM page p
      JOIN "Task" t ON t.id = p.id
      JOIN "Transfer" tr ON tr.id = t."transferId"
    )
    SELECT json_build_object(
      'items', coalesce((SELECT json_agg(item ORDER BY "dueAt", id) FROM items), '[]'::json),
      'total', least(c.n, ${TOTAL_CAP}::int), 'totalCapped', c.n > ${TOTAL_CAP}::int,
      'page', ${page}::int, 'pageSize', ${pageSize}::int
    )::text AS body
    FROM (SELECT ${Prisma.join(ws.map(countOf), ' + ')} AS n OFFSET 0) c`;
}

/**
 * The body of GET /api/tasks (JSON text, sent as it is): one page of my open tasks,
 * soonest due first, and their count up to TOTAL_CAP. A named prepared statement per
 * shape (number of memberships and groups), so PostgreSQL plans it once per connection.
 */
export async function myTasksBody(prisma: PrismaClient, actor: Actor, page: number, pageSize: number, now = Date.now()): Promise<string> {
  const q = myTasksSql(actor, page, pageSize, now);
  const name = `my_tasks_${createHash('sha1').update(q.text).digest('hex').slice(0, 16)}`;
  const { rows } = await pgPoolOf(prisma).query<{ body: string }>({ name, text: q.text, values: q.values as unknown[] });
  return rows[0].body;
}

/**
 * The invalidation keys of a user's inbox (api/read-cache.ts): one per way a task reaches
 * them (ways() above), as the trigger ic_cache_notify_task names them, and their groups
 * (the names their items show; ic_cache_entity_changed, ic_cache_user_changed).
 */
export function inboxKeys(actor: Actor): string[] {
  return [
    `u:${actor.userId}`,
    ...actor.memberships.map((m) => `e:${m.entityId}:${m.role}`),
    ...(actor.groupRole ? actor.groupIds.map((g) => `g:${g}:${actor.groupRole}`) : []),
    ...actor.groupIds.map((g) => `G:${g}`),
  ];
}

/** A cached inbox body: its invalidation keys (the user and their ways: a changed membership is another entry) and the page. */
export function inboxCacheKey(keys: readonly string[], page: number, pageSize: number): string {
  return `${keys.join(',')}|${page}|${pageSize}`;
}
