// Robot channels (WeCom / DingTalk group robots) per entity, managed by HQ.
//
// The webhook URL holds the robot's token and the DingTalk secret signs messages: both
// are stored but never returned in full (the URL comes back with its token masked, the
// secret only as `hasSecret`) and never logged or audited. Only URLs under
// ROBOT_ALLOWED_URL_PREFIXES are accepted (the vendors' https hosts by default; demo mode
// also accepts the loopback interface, for the local test receiver).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { ApiConfig } from '../../scripts/lib/config';
import type { Prisma } from '../../prisma/client';
import { EntityCode, IdParams, StringEnum, errors } from '../schemas';
import { unprocessable } from '../transfers-service';
import { DEFAULT_ALLOWED_URL_PREFIXES, checkWebhookUrl, maskWebhookUrl, robotKey, type RobotKind } from '../../activities/robots/vendor';
import { auditRow } from '../audit-row';

const Kind = StringEnum(['WECOM', 'DINGTALK'] as const, { description: 'WECOM (企业微信) or DINGTALK (钉钉)' });
const Language = StringEnum(['zh', 'en'] as const, { description: 'language of the messages (default zh)' });
/** Printable text: no control characters (PostgreSQL refuses NUL in text). */
const TEXT = '^[^\\u0000-\\u001f\\u007f]+$';
const Name = Type.String({ minLength: 1, maxLength: 100, pattern: TEXT });
const Keywords = Type.Array(Type.String({ minLength: 1, maxLength: 20, pattern: TEXT }), {
  maxItems: 10,
  description: 'DingTalk custom keywords (安全设置 · 自定义关键词): every message carries them',
});
const Secret = Type.String({ pattern: '^SEC[0-9A-Za-z]{8,200}$', description: 'DingTalk signing secret (加签), starts with SEC; write-only' });
const WebhookUrl = Type.String({
  minLength: 10,
  maxLength: 2000,
  pattern: '^[^\\s\\u0000-\\u001f\\u007f]+$',
  description: 'WeCom: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…; DingTalk: https://oapi.dingtalk.com/robot/send?access_token=…; write-only (returned masked)',
});

export const ChannelView = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    entity: Type.String({ description: 'entity code' }),
    kind: Kind,
    name: Type.String(),
    webhookUrl: Type.String({ description: 'masked: the token shows only its last 4 characters' }),
    hasSecret: Type.Boolean(),
    keywords: Type.Array(Type.String()),
    language: Language,
    active: Type.Boolean(),
    deliveries: Type.Object({ pending: Type.Integer(), sent: Type.Integer(), failed: Type.Integer() }, { description: 'deliveries to this robot by status' }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { title: 'Channel' },
);

const ChannelCreate = Type.Object(
  {
    entity: EntityCode,
    kind: Kind,
    name: Name,
    webhookUrl: WebhookUrl,
    secret: Type.Optional(Secret),
    keywords: Type.Optional(Keywords),
    language: Type.Optional(Language),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const ChannelUpdate = Type.Object(
  {
    kind: Type.Optional(Kind),
    name: Type.Optional(Name),
    webhookUrl: Type.Optional(WebhookUrl),
    secret: Type.Optional(Type.Union([Secret, Type.Null()], { description: 'a new secret, or null to remove it' })),
    keywords: Type.Optional(Keywords),
    language: Type.Optional(Language),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object({ entity: Type.Optional(EntityCode) }, { additionalProperties: false });

type ChannelRow = Prisma.ChannelGetPayload<object>;

const channels: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { prisma } = fastify.deps;
  // Not in AppOptions' Pick (api/app.ts): read from the full config the server passes.
  const config = fastify.deps.config as Partial<ApiConfig>;
  const allowedPrefixes = config.ROBOT_ALLOWED_URL_PREFIXES ?? DEFAULT_ALLOWED_URL_PREFIXES;

  async function views(rows: ChannelRow[]): Promise<Array<Static<typeof ChannelView>>> {
    const ids = rows.map((r) => r.id);
    const [entities, counts] = await Promise.all([
      prisma.entity.findMany({ where: { id: { in: [...new Set(rows.map((r) => r.entityId))] } }, select: { id: true, code: true } }),
      ids.length ? prisma.delivery.groupBy({ by: ['channelId', 'status'], where: { channelId: { in: ids } }, _count: { _all: true } }) : Promise.resolve([]),
    ]);
    const code = new Map(entities.map((e) => [e.id, e.code]));
    const count = (id: string, status: string) => counts.find((c) => c.channelId === id && c.status === status)?._count._all ?? 0;
    return rows.map((c) => ({
      id: c.id,
      entity: code.get(c.entityId) ?? '',
      kind: c.kind,
      name: c.name,
      webhookUrl: maskWebhookUrl(c.webhookUrl),
      hasSecret: !!c.secret,
      keywords: c.keywords,
      language: c.language,
      active: c.active,
      deliveries: { pending: count(c.id, 'PENDING') + count(c.id, 'SENDING'), sent: count(c.id, 'SENT'), failed: count(c.id, 'FAILED') },
      createdAt: c.createdAt.toISOString(),
      updatedAt: c.updatedAt.toISOString(),
    }));
  }

  /** What the audit trail keeps of a channel: no token, no secret. */
  const auditable = (c: Pick<ChannelRow, 'kind' | 'name' | 'webhookUrl' | 'secret' | 'keywords' | 'language' | 'active'>) => ({
    kind: c.kind,
    name: c.name,
    webhookUrl: maskWebhookUrl(c.webhookUrl),
    hasSecret: !!c.secret,
    keywords: c.keywords,
    language: c.language,
    active: c.active,
  });

  async function findInScope(id: string, groupIds: string[]): Promise<ChannelRow> {
    const c = await prisma.channel.findFirst({ where: { id, groupId: { in: groupIds }, deletedAt: null } });
    if (!c) throw fastify.httpErrors.notFound('channel not found');
    return c;
  }

  function checkRobot(kind: RobotKind, webhookUrl: string | undefined, secret: string | null | undefined, keywords: string[] | undefined) {
    const bad = webhookUrl === undefined ? null : checkWebhookUrl(webhookUrl, kind, { allowedPrefixes, demo: config.DEMO_MODE === true });
    if (bad) throw unprocessable(fastify, 'webhookUrl', bad);
    if (kind === 'WECOM' && secret) throw unprocessable(fastify, 'secret', 'WeCom robots have no signing secret');
    if (kind === 'WECOM' && keywords?.length) throw unprocessable(fastify, 'keywords', 'keywords are a DingTalk setting');
  }

  /** A second channel for the same robot, created concurrently: the unique index says no. */
  function duplicateRobot(err: unknown): never {
    if ((err as { code?: string }).code === 'P2002') throw Object.assign(fastify.httpErrors.conflict('this robot already has a channel: one channel per robot (its rate limit is per robot)'), { code: 'ROBOT_EXISTS' });
    throw err;
  }

  async function assertUniqueRobot(key: string, exceptId?: string) {
    const other = await prisma.channel.findFirst({ where: { robotKey: key, ...(exceptId ? { id: { not: exceptId } } : {}) }, select: { id: true } });
    if (other) throw Object.assign(fastify.httpErrors.conflict(`this robot is already channel ${other.id}: one channel per robot (its rate limit is per robot)`), { code: 'ROBOT_EXISTS' });
  }

  app.get(
    '/channels',
    {
      onRequest: [fastify.requireHq],
      schema: { tags: ['robots'], summary: 'robot channels of your group (HQ)', querystring: ListQuery, response: { 200: Type.Array(ChannelView), ...errors(401, 403) } },
    },
    async (request) => {
      const where: Prisma.ChannelWhereInput = { groupId: { in: request.actor.groupIds }, deletedAt: null };
      if (request.query.entity) {
        const e = await prisma.entity.findFirst({ where: { code: request.query.entity, groupId: { in: request.actor.groupIds } }, select: { id: true } });
        where.entityId = e?.id ?? '00000000-0000-0000-0000-000000000000';
      }
      return views(await prisma.channel.findMany({ where, orderBy: [{ createdAt: 'asc' }] }));
    },
  );

  app.get(
    '/channels/:id',
    {
      onRequest: [fastify.requireHq],
      schema: { tags: ['robots'], summary: 'one robot channel (HQ)', params: IdParams, response: { 200: ChannelView, ...errors(401, 403, 404) } },
    },
    async (request) => (await views([await findInScope(request.params.id, request.actor.groupIds)]))[0],
  );

  app.post(
    '/channels',
    {
      onRequest: [fastify.requireHq],
      schema: {
        tags: ['robots'],
        summary: "add a robot to an entity's notifications (HQ; HQ's own robot: a channel of the HQ entity)",
        body: ChannelCreate,
        response: { 201: ChannelView, ...errors(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const entity = await prisma.entity.findFirst({ where: { code: b.entity, groupId: { in: request.actor.groupIds } } });
      if (!entity) throw unprocessable(fastify, 'entity', `no entity ${b.entity} in your group`);
      checkRobot(b.kind, b.webhookUrl, b.secret, b.keywords);
      const webhookUrl = new URL(b.webhookUrl).toString();
      const key = robotKey(webhookUrl, b.kind);
      await assertUniqueRobot(key);
      const created = await prisma
        .$transaction(async (tx) => {
          const c = await tx.channel.create({
            data: {
              groupId: entity.groupId,
              entityId: entity.id,
              kind: b.kind,
              name: b.name,
              webhookUrl,
              robotKey: key,
              secret: b.secret ?? null,
              keywords: b.keywords ?? [],
              language: b.language ?? 'zh',
              active: b.active ?? true,
            },
          });
          await tx.auditEvent.create({
            data: auditRow(request.actor, {
              action: 'CHANNEL_CREATED',
              objectType: 'channel',
              objectId: c.id,
              entityIds: [entity.id],
              after: auditable(c),
            }),
          });
          return c;
        })
        .catch(duplicateRobot);
      reply.status(201);
      return (await views([created]))[0];
    },
  );

  app.put(
    '/channels/:id',
    {
      onRequest: [fastify.requireHq],
      schema: {
        tags: ['robots'],
        summary: 'change a robot channel (HQ): the fields given are replaced; the kind cannot change',
        params: IdParams,
        body: ChannelUpdate,
        response: { 200: ChannelView, ...errors(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => {
      const before = await findInScope(request.params.id, request.actor.groupIds);
      const b = request.body;
      if (b.kind && b.kind !== before.kind) throw unprocessable(fastify, 'kind', 'the kind of a robot cannot change: add a new channel');
      const kind = before.kind as RobotKind;
      const webhookUrl = b.webhookUrl !== undefined ? b.webhookUrl : before.webhookUrl;
      const secret = b.secret === undefined ? before.secret : b.secret;
      const keywords = b.keywords ?? before.keywords;
      checkRobot(kind, b.webhookUrl, secret, keywords);
      const url = b.webhookUrl !== undefined ? new URL(webhookUrl).toString() : webhookUrl;
      const key = robotKey(url, kind);
      if (b.webhookUrl !== undefined) await assertUniqueRobot(key, before.id);
      const updated = await prisma
        .$transaction(async (tx) => {
          const c = await tx.channel.update({
            where: { id: before.id },
            data: { name: b.name, webhookUrl: url, robotKey: key, secret, keywords, language: b.language, active: b.active },
          });
          await tx.auditEvent.create({
            data: auditRow(request.actor, {
              action: 'CHANNEL_UPDATED',
              objectType: 'channel',
              objectId: c.id,
              entityIds: [c.entityId],
              before: auditable(before),
              after: { ...auditable(c), secretChanged: b.secret !== undefined, urlChanged: url !== before.webhookUrl },
            }),
          });
          return c;
        })
        .catch(duplicateRobot);
      return (await views([updated]))[0];
    },
  );

  app.delete(
    '/channels/:id',
    {
      onRequest: [fastify.requireHq],
      schema: {
        tags: ['robots'],
        summary: 'remove a robot channel (HQ): what still waits for it fails as "robot removed"; its delivery history stays',
        params: IdParams,
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const before = await findInScope(request.params.id, request.actor.groupIds);
      await prisma.$transaction(async (tx) => {
        // The token and the secret go with it; the row stays for its deliveries' history.
        await tx.channel.update({ where: { id: before.id }, data: { deletedAt: new Date(), active: false, robotKey: null, secret: null, webhookUrl: maskWebhookUrl(before.webhookUrl) } });
        await tx.delivery.updateMany({ where: { channelId: before.id, status: 'PENDING' }, data: { status: 'FAILED', lastError: 'robot removed' } });
        await tx.auditEvent.create({
          data: auditRow(request.actor, {
            action: 'CHANNEL_DELETED',
            objectType: 'channel',
            objectId: before.id,
            entityIds: [before.entityId],
            before: auditable(before),
          }),
        });
      });
      reply.status(204);
      return null;
    },
  );
};

export default channels;
