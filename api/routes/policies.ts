// Approval policies: data, read by everyone concerned, replaced by HQ.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { PolicyInput, PolicySchema, errors } from '../schemas';
import { unprocessable } from '../transfers-service';
import { auditRow } from '../audit-row';

const policies: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { prisma } = fastify.deps;

  async function list(entityIds: string[]) {
    const rows = await prisma.approvalPolicy.findMany({
      where: { entityId: { in: entityIds } },
      include: { entity: { select: { code: true } } },
      orderBy: [{ entity: { code: 'asc' } }, { priority: 'desc' }, { createdAt: 'asc' }],
    });
    return rows.map((p) => ({
      id: p.id,
      entity: p.entity.code,
      name: p.name,
      transferType: p.transferType,
      minAmount: p.minAmount?.toString() ?? null,
      maxAmount: p.maxAmount?.toString() ?? null,
      mode: p.mode,
      levels: p.levels as Array<{ role: 'ACCOUNTANT' | 'SUPERVISOR' } | { users: string[] }>,
      priority: p.priority,
      active: p.active,
    }));
  }

  app.get(
    '/policies',
    {
      onRequest: [fastify.authenticate],
      schema: { tags: ['policies'], summary: 'approval policies (HQ: all; others: their entities)', response: { 200: Type.Array(PolicySchema), ...errors(401) } },
    },
    async (request) => {
      const a = request.actor;
      if (!a.groupRole) return list(a.memberships.map((m) => m.entityId));
      const inGroup = await prisma.entity.findMany({ where: { groupId: { in: a.groupIds } }, select: { id: true } });
      return list(inGroup.map((e) => e.id));
    },
  );

  app.put(
    '/policies',
    {
      onRequest: [fastify.requireHq],
      schema: {
        tags: ['policies'],
        summary: 'replace the policies of the entities named in the body (HQ). Running transfers keep the policy they started with.',
        body: Type.Array(PolicyInput, { maxItems: 500 }),
        response: { 200: Type.Array(PolicySchema), ...errors(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const body = request.body;
      const codes = [...new Set(body.map((p) => p.entity))];
      const entities = await prisma.entity.findMany({ where: { code: { in: codes }, groupId: { in: request.actor.groupIds } } });
      const byCode = new Map(entities.map((e) => [e.code, e]));
      body.forEach((p, i) => {
        if (!byCode.has(p.entity)) throw unprocessable(fastify, `${i}.entity`, `no entity ${p.entity}`);
        if (p.minAmount && p.maxAmount && Number(p.minAmount) >= Number(p.maxAmount)) throw unprocessable(fastify, `${i}.maxAmount`, 'must be above minAmount');
        if ((p.mode === 'COUNTERSIGN' || p.mode === 'EITHER_SIGN') && p.levels.length !== 1) throw unprocessable(fastify, `${i}.levels`, `${p.mode} takes exactly one level`);
        if (p.mode === 'SINGLE' && p.levels.length !== 1) throw unprocessable(fastify, `${i}.levels`, 'SINGLE takes exactly one level');
      });
      const usernames = [...new Set(body.flatMap((p) => p.levels.flatMap((l) => ('users' in l ? l.users : []))))];
      const known = new Set((await prisma.user.findMany({ where: { username: { in: usernames } }, select: { username: true } })).map((u) => u.username));
      const unknown = usernames.filter((u) => !known.has(u));
      if (unknown.length) throw unprocessable(fastify, 'levels.users', `unknown users: ${unknown.join(', ')}`);
      const ids = entities.map((e) => e.id);
      await prisma.$transaction(async (tx) => {
        const before = await tx.approvalPolicy.findMany({ where: { entityId: { in: ids } } });
        await tx.approvalPolicy.deleteMany({ where: { entityId: { in: ids } } });
        await tx.approvalPolicy.createMany({
          data: body.map((p) => ({
            entityId: byCode.get(p.entity)!.id,
            name: p.name,
            transferType: p.transferType ?? null,
            minAmount: p.minAmount ?? null,
            maxAmount: p.maxAmount ?? null,
            mode: p.mode,
            levels: p.levels,
            priority: p.priority ?? 0,
            active: p.active ?? true,
          })),
        });
        await tx.auditEvent.create({
          data: auditRow(request.actor, {
            action: 'POLICIES_REPLACED',
            objectType: 'policy',
            objectId: codes.join(','),
            entityIds: ids,
            before: before.map((p) => ({ ...p, minAmount: p.minAmount?.toString() ?? null, maxAmount: p.maxAmount?.toString() ?? null })),
            after: body,
          }),
        });
      });
      return list(ids);
    },
  );
};

export default policies;
