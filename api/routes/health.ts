// Liveness and readiness.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';

const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  checks: Type.Object({
    database: Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String()) }),
    temporal: Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String()) }),
  }),
  down: Type.Array(Type.String(), { description: 'names of the dependencies that are down' }),
});

async function check(fn: () => Promise<unknown>, timeoutMs = 2000): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message.split('\n')[0] };
  } finally {
    clearTimeout(timer);
  }
}

const health: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'process is up', security: [], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'database and Temporal are reachable (503 names what is down)',
        security: [],
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const { prisma, temporal } = fastify.deps;
      const [database, temporalCheck] = await Promise.all([
        check(() => prisma.$queryRaw`SELECT 1`),
        // The gRPC deadline bounds this call (and its retries); the outer timeout is only a backstop.
        check(() => temporal.connection.withDeadline(Date.now() + 2000, () => temporal.connection.workflowService.getSystemInfo({})), 5000),
      ]);
      const down = [...(database.ok ? [] : ['database']), ...(temporalCheck.ok ? [] : ['temporal'])];
      return reply.status(down.length ? 503 : 200).send({
        status: down.length ? 'unavailable' : 'ok',
        checks: { database, temporal: temporalCheck },
        down,
      });
    },
  );
};

export default health;
