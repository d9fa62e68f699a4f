// What the web inbox needs to know about this installation: the public demo logins (demo
// mode only) and, for a logged-in user, the Temporal Web UI base and the red / amber
// thresholds of their group. No secrets here.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errors } from '../schemas';
import { demoLogins, DEMO_PASSWORD } from '../../prisma/seed';

export const AppConfigSchema = Type.Object(
  {
    demoMode: Type.Boolean(),
    temporalUiUrl: Type.String({ description: 'base URL of the Temporal Web UI' }),
    temporalNamespace: Type.String(),
    thresholds: Type.Union([
      Type.Object({
        red: Type.String({ description: 'amounts above this are red (group currency, exact decimal)' }),
        amber: Type.String({ description: 'amounts above this are amber' }),
        currency: Type.String({ description: 'the group currency' }),
      }),
      Type.Null(),
    ]),
    entities: Type.Array(Type.Object({ id: Type.String(), code: Type.String(), name: Type.String(), kind: Type.String() }), {
      description: "entities of your group(s): counterparties to choose from",
    }),
  },
  { title: 'AppConfig' },
);

const DemoLogins = Type.Object(
  { password: Type.String(), logins: Type.Array(Type.Object({ username: Type.String(), role: Type.String() })) },
  { title: 'DemoLogins' },
);

const configRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { prisma, config } = fastify.deps;

  app.get(
    '/auth/demo-logins',
    {
      schema: {
        tags: ['auth'],
        summary: 'the demo logins shown on the login page (demo mode only; 404 otherwise)',
        security: [],
        response: { 200: DemoLogins, ...errors(404) },
      },
    },
    async () => {
      if (!config.DEMO_MODE) throw fastify.httpErrors.notFound('not in demo mode');
      return { password: DEMO_PASSWORD, logins: demoLogins() };
    },
  );

  app.get(
    '/config',
    {
      onRequest: [fastify.authenticate],
      schema: { tags: ['auth'], summary: 'settings the web inbox needs (Temporal Web UI link, red / amber thresholds of your group)', response: { 200: AppConfigSchema, ...errors(401) } },
    },
    async (request) => {
      const groupId = request.actor.groupIds[0];
      const [group, entities] = await Promise.all([
        groupId ? prisma.group.findUnique({ where: { id: groupId }, select: { redThreshold: true, amberThreshold: true, currency: true } }) : null,
        prisma.entity.findMany({ where: { groupId: { in: request.actor.groupIds } }, select: { id: true, code: true, name: true, kind: true }, orderBy: { code: 'asc' } }),
      ]);
      return {
        demoMode: config.DEMO_MODE,
        temporalUiUrl: config.TEMPORAL_UI_URL.replace(/\/$/, ''),
        temporalNamespace: config.TEMPORAL_NAMESPACE,
        thresholds: group ? { red: group.redThreshold.toString(), amber: group.amberThreshold.toString(), currency: group.currency } : null,
        entities,
      };
    },
  );
};

export default configRoutes;
