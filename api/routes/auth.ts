// Login (username + password → JWT) and the current user.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { verify } from '@node-rs/argon2';
import { LoginBody, LoginResponse, Me, errors } from '../schemas';
import { DEMO_PASSWORD } from '../../prisma/seed';

const authRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { prisma, config } = fastify.deps;

  async function me(userId: string) {
    const user = await prisma.user.findUniqueOrThrow({
      where: { id: userId },
      include: { memberships: { include: { entity: { select: { id: true, code: true, name: true } } }, orderBy: { entityId: 'asc' } } },
    });
    return {
      id: user.id,
      username: user.username,
      displayName: user.displayName,
      groupRole: user.groupRole,
      memberships: user.memberships.map((m) => ({ entity: m.entity, role: m.role })),
    };
  }

  app.post(
    '/auth/login',
    {
      // Brute force: a few attempts per minute per username and address.
      config: {
        rateLimit: {
          max: config.LOGIN_RATE_LIMIT_PER_MINUTE ?? 10,
          timeWindow: '1 minute',
          keyGenerator: (request: { body?: unknown; ip: string }) => `login:${String((request.body as { username?: unknown } | undefined)?.username ?? '')}:${request.ip}`,
        },
      },
      schema: {
        tags: ['auth'],
        summary: 'log in with username and password; returns a bearer token (refresh by logging in again)',
        security: [],
        body: LoginBody,
        response: { 200: LoginResponse, ...errors(400, 401, 429) },
      },
    },
    async (request) => {
      const { username, password } = request.body;
      const user = await prisma.user.findUnique({ where: { username } });
      const ok = user !== null && user.active && (await verify(user.passwordHash, password));
      // Demo credentials never work outside demo mode.
      if (!ok || (!config.DEMO_MODE && password === DEMO_PASSWORD)) {
        request.log.info({ username }, 'login refused');
        throw fastify.httpErrors.unauthorized('wrong username or password');
      }
      const token = fastify.jwt.sign({ sub: user.id, name: user.displayName });
      const { exp } = fastify.jwt.decode<{ exp: number }>(token)!;
      return { token, tokenType: 'Bearer' as const, expiresAt: new Date(exp * 1000).toISOString(), user: await me(user.id) };
    },
  );

  app.get(
    '/me',
    { onRequest: [fastify.authenticate], schema: { tags: ['auth'], summary: 'the current user', response: { 200: Me, ...errors(401) } } },
    async (request) => me(request.actor.userId),
  );
};

export default authRoutes;
