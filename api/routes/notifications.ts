// Notification events and their deliveries to robots: what was sent where, in which
// message, after how many attempts, and why a delivery failed. HQ retries failed ones.
//
// Scope: HQ sees the events of every entity of its groups; others those of their entities.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { Prisma } from '../../prisma/client';
import type { AuthUser } from '../plugins/auth';
import { EntityCode, IdParams, StringEnum, Uuid, errors } from '../schemas';
import { signalRobot } from '../../activities/robots/dispatcher';
import { auditRow } from '../audit-row';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const DeliveryStatus = StringEnum(['PENDING', 'SENDING', 'SENT', 'FAILED'] as const);

const DeliveryView = Type.Object({
  id: Uuid,
  robot: Type.Object({ id: Uuid, name: Type.String(), kind: StringEnum(['WECOM', 'DINGTALK'] as const), removed: Type.Boolean() }),
  status: DeliveryStatus,
  attempts: Type.Integer(),
  messageId: Nullable(Type.String({ description: 'our id of the message that carried it (digests carry many events); shown in the message footer' })),
  lastError: Nullable(Type.String()),
  sentAt: Nullable(Type.String({ format: 'date-time' })),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const NotificationView = Type.Object(
  {
    id: Uuid,
    kind: Type.String({ examples: ['TASK_ASSIGNED', 'ESCALATED', 'PAYMENTS_FROZEN', 'ROBOT_FAILED'] }),
    transferId: Nullable(Uuid),
    entity: Type.Union([Type.Object({ id: Uuid, code: Type.String(), name: Type.String() }), Type.Null()]),
    status: Type.String({ description: 'PENDING until the dispatcher has created its deliveries, then DISPATCHED' }),
    createdAt: Type.String({ format: 'date-time' }),
    payload: Type.Unknown(),
    deliveries: Type.Array(DeliveryView),
  },
  { title: 'Notification' },
);

const NotificationPage = Type.Object({ items: Type.Array(NotificationView), total: Type.Integer(), page: Type.Integer(), pageSize: Type.Integer() }, { title: 'NotificationPage' });

const ListQuery = Type.Object(
  {
    entity: Type.Optional(EntityCode),
    transfer: Type.Optional(Uuid),
    status: Type.Optional(StringEnum(['PENDING', 'SENDING', 'SENT', 'FAILED', 'UNDISPATCHED'] as const, { description: 'events with a delivery in this status (UNDISPATCHED: not yet picked up)' })),
    kind: Type.Optional(Type.String({ pattern: '^[A-Z][A-Z0-9_]{0,63}$', description: 'event kind, e.g. ESCALATED' })),
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
    pageSize: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  },
  { additionalProperties: false },
);

const RetryResponse = Type.Object({ retried: Type.Integer({ description: 'failed deliveries put back in their robot’s queue' }), notification: NotificationView });

const include = { deliveries: { include: { channel: { select: { id: true, name: true, kind: true, deletedAt: true, active: true } } }, orderBy: { createdAt: 'asc' } } } as const;
type EventRow = Prisma.NotificationEventGetPayload<{ include: typeof include }>;

const notifications: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { prisma, temporal, config } = fastify.deps;

  async function scopeEntityIds(actor: AuthUser): Promise<string[]> {
    if (!actor.groupRole) return actor.memberships.map((m) => m.entityId);
    return (await prisma.entity.findMany({ where: { groupId: { in: actor.groupIds } }, select: { id: true } })).map((e) => e.id);
  }

  async function views(rows: EventRow[]): Promise<Array<Static<typeof NotificationView>>> {
    const ids = [...new Set(rows.flatMap((r) => (r.entityId ? [r.entityId] : [])))];
    const entities = new Map((await prisma.entity.findMany({ where: { id: { in: ids } }, select: { id: true, code: true, name: true } })).map((e) => [e.id, e]));
    return rows.map((e) => ({
      id: e.id,
      kind: e.kind,
      transferId: e.transferId,
      entity: e.entityId ? entities.get(e.entityId) ?? null : null,
      status: e.status,
      createdAt: e.createdAt.toISOString(),
      payload: e.payload,
      deliveries: e.deliveries.map((d) => ({
        id: d.id,
        robot: { id: d.channel.id, name: d.channel.name, kind: d.channel.kind, removed: d.channel.deletedAt !== null },
        status: d.status,
        attempts: d.attempts,
        messageId: d.messageId,
        lastError: d.lastError,
        sentAt: d.sentAt?.toISOString() ?? null,
        updatedAt: d.updatedAt.toISOString(),
      })),
    }));
  }

  app.get(
    '/notifications',
    {
      onRequest: [fastify.authenticate],
      schema: {
        tags: ['robots'],
        summary: 'notification events, newest first, with their deliveries to robots (HQ: its groups; others: their entities)',
        querystring: ListQuery,
        response: { 200: NotificationPage, ...errors(401) },
      },
    },
    async (request) => {
      const q = request.query;
      let entityIds = await scopeEntityIds(request.actor);
      if (q.entity) {
        const e = await prisma.entity.findFirst({ where: { code: q.entity, id: { in: entityIds } }, select: { id: true } });
        entityIds = e ? [e.id] : [];
      }
      const where: Prisma.NotificationEventWhereInput = {
        entityId: { in: entityIds },
        ...(q.transfer ? { transferId: q.transfer } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
        ...(q.status === 'UNDISPATCHED' ? { status: 'PENDING' } : q.status ? { deliveries: { some: { status: q.status } } } : {}),
      };
      const [total, rows] = await Promise.all([
        prisma.notificationEvent.count({ where }),
        prisma.notificationEvent.findMany({ where, include, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], skip: (q.page - 1) * q.pageSize, take: q.pageSize }),
      ]);
      return { items: await views(rows), total, page: q.page, pageSize: q.pageSize };
    },
  );

  app.post(
    '/notifications/:id/retry',
    {
      onRequest: [fastify.requireHq],
      schema: {
        tags: ['robots'],
        summary: "send an event's failed deliveries again (HQ), e.g. after fixing the robot's token or secret",
        params: IdParams,
        response: { 202: RetryResponse, ...errors(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const entityIds = await scopeEntityIds(request.actor);
      const event = await prisma.notificationEvent.findFirst({ where: { id: request.params.id, entityId: { in: entityIds } }, include });
      if (!event) throw fastify.httpErrors.notFound('notification not found');
      const retry = event.deliveries.filter((d) => d.status === 'FAILED' && d.channel.active && !d.channel.deletedAt);
      if (retry.length === 0) {
        throw Object.assign(fastify.httpErrors.conflict('no failed delivery to an active robot to retry'), { code: 'NOTHING_TO_RETRY' });
      }
      await prisma.$transaction(async (tx) => {
        await tx.delivery.updateMany({ where: { id: { in: retry.map((d) => d.id) }, status: 'FAILED' }, data: { status: 'PENDING', messageId: null } });
        await tx.auditEvent.create({
          data: auditRow(request.actor, {
            action: 'NOTIFICATION_RETRIED',
            objectType: 'notification',
            objectId: event.id,
            transferId: event.transferId,
            entityIds: event.entityId ? [event.entityId] : [],
            before: retry.map((d) => ({ deliveryId: d.id, robot: d.channel.name, status: d.status, attempts: d.attempts, lastError: d.lastError })),
            after: { status: 'PENDING' },
          }),
        });
      });
      // Tell each robot's workflow now; if Temporal is down, the worker's sweep will.
      for (const d of retry) {
        try {
          await signalRobot({ client: temporal, taskQueue: config.TEMPORAL_TASK_QUEUE }, { id: d.channel.id, kind: d.channel.kind }, { ids: [d.id] });
        } catch (err) {
          request.log.warn({ channelId: d.channel.id, err: (err as Error).message }, 'could not signal the robot workflow; the sweep will');
        }
      }
      const fresh = await prisma.notificationEvent.findUniqueOrThrow({ where: { id: event.id }, include });
      reply.status(202);
      return { retried: retry.length, notification: (await views([fresh]))[0] };
    },
  );
};

export default notifications;
