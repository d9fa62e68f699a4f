// JWT authentication (@fastify/jwt, HS256 only, issuer and audience checked) and the
// acting user: loaded from the database on every request, so a disabled user's token
// stops working at once.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import jwt from '@fastify/jwt';
import buildGetJwks from 'get-jwks';
import { createDecoder, createVerifier } from 'fast-jwt';
import type { Actor } from '../../workflows/types';
import { pgPoolOf, type db } from '../../prisma/client';

interface ActingUserRow {
  id: string;
  username: string;
  displayName: string;
  groupRole: db.GroupRole | null;
  active: boolean;
  memberships: { entityId: string; role: db.EntityRole; code: string; groupId: string }[];
}

export interface AuthUser extends Actor {
  username: string;
  entityCodes: Map<string, string>;
  /** Groups the user belongs to (through any membership): HQ roles reach only these. */
  groupIds: string[];
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string; name: string };
    user: { sub: string; name: string };
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    authenticate: (request: FastifyRequest) => Promise<void>;
    requireHq: (request: FastifyRequest) => Promise<void>;
  }
  interface FastifyRequest {
    actor: AuthUser;
  }
}

const actorSql = (where: string) => `
  SELECT u.id, u.username, u."displayName", u."groupRole"::text AS "groupRole", u.active,
         coalesce(json_agg(json_build_object('entityId', m."entityId", 'role', m.role, 'code', e.code, 'groupId', e."groupId")
                  ORDER BY e.code, m.role) FILTER (WHERE m."entityId" IS NOT NULL), '[]') AS memberships
  FROM "User" u
  LEFT JOIN "Membership" m ON m."userId" = u.id
  LEFT JOIN "Entity" e ON e.id = m."entityId"
  WHERE ${where}
  GROUP BY u.id`;
const ACTOR_BY_ID = { name: 'acting_user_by_id', text: actorSql('u.id = $1::uuid') };
const ACTOR_BY_NAME = { name: 'acting_user_by_name', text: actorSql('u.username = $1') };

export default fp(async function auth(fastify: FastifyInstance) {
  const { config, prisma } = fastify.deps;
  await fastify.register(jwt, {
    secret: config.JWT_SECRET,
    sign: { algorithm: 'HS256', expiresIn: config.JWT_EXPIRES_IN, iss: config.JWT_ISSUER, aud: config.JWT_AUDIENCE },
    // Verified tokens are remembered (fast-jwt's cache, up to their own expiry, keyed by a
    // hash of the token): a token is checked once, not on every request of its session.
    verify: { algorithms: ['HS256'], allowedIss: config.JWT_ISSUER, allowedAud: config.JWT_AUDIENCE, cache: 10_000 },
  });
  fastify.decorateRequest('actor', null as unknown as AuthUser);

  // Optional SSO: tokens of the group's identity provider (RS256 / ES256, keys from its
  // JWKS URL) are accepted beside our own HS256 tokens. The username claim names the user.
  const sso = config.JWT_JWKS_URL
    ? (() => {
        const url = new URL(config.JWT_JWKS_URL!);
        const getJwks = buildGetJwks({ jwksPath: url.pathname, ttl: 10 * 60_000 });
        const domain = url.origin;
        const verifier = createVerifier({
          key: async (decoded: { header: { kid?: string; alg?: string } }) => getJwks.getPublicKey({ domain, kid: decoded.header.kid, alg: decoded.header.alg }),
          algorithms: ['RS256', 'ES256'],
          allowedIss: config.JWT_JWKS_ISSUER,
          ...(config.JWT_JWKS_AUDIENCE ? { allowedAud: config.JWT_JWKS_AUDIENCE } : {}),
          cache: false,
        });
        return { verifier, claim: config.JWT_JWKS_USERNAME_CLAIM ?? 'preferred_username' };
      })()
    : null;
  const decodeComplete = createDecoder({ complete: true });

  async function identify(request: FastifyRequest): Promise<{ id?: string; username?: string }> {
    const header = request.headers.authorization ?? '';
    const raw = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (sso && raw) {
      let alg: string | undefined;
      try {
        alg = (decodeComplete(raw) as { header: { alg?: string } }).header.alg;
      } catch {
        alg = undefined;
      }
      if (alg === 'RS256' || alg === 'ES256') {
        const payload = (await sso.verifier(raw)) as Record<string, unknown>;
        const username = payload[sso.claim];
        if (typeof username !== 'string' || !username) throw new Error(`token has no ${sso.claim} claim`);
        return { username };
      }
    }
    await request.jwtVerify();
    return { id: request.user.sub };
  }

  fastify.decorate('authenticate', async (request: FastifyRequest) => {
    let who: { id?: string; username?: string };
    try {
      who = await identify(request);
    } catch (err) {
      throw fastify.httpErrors.unauthorized(`invalid or expired token: ${(err as Error).message}`);
    }
    if (who.id !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(who.id)) {
      throw fastify.httpErrors.unauthorized('invalid token: its subject is not a user id');
    }
    // Read on every request, so that a disabled user is refused by the next request after
    // the change commits (no cache can promise that without asking the database). One named
    // statement on the pg pool, planned once per connection (a Prisma include would be
    // three statements and ~2 ms of this process's CPU per request: bench/inbox.ts).
    const { rows } = await pgPoolOf(prisma).query<ActingUserRow>(who.id ? { ...ACTOR_BY_ID, values: [who.id] } : { ...ACTOR_BY_NAME, values: [who.username] });
    const user = rows[0] as ActingUserRow | undefined;
    if (!user || !user.active) throw fastify.httpErrors.unauthorized('user is disabled or no longer exists');
    request.actor = {
      userId: user.id,
      name: user.displayName,
      username: user.username,
      groupRole: user.groupRole,
      memberships: user.memberships.map((m) => ({ entityId: m.entityId, role: m.role })),
      entityCodes: new Map(user.memberships.map((m) => [m.entityId, m.code])),
      groupIds: [...new Set(user.memberships.map((m) => m.groupId))],
      ip: request.ip,
      requestId: String(request.id),
    };
  });

  fastify.decorate('requireHq', async (request: FastifyRequest) => {
    await fastify.authenticate(request);
    if (request.actor.groupRole !== 'HQ_FINANCE' && request.actor.groupRole !== 'ADMIN') {
      throw fastify.httpErrors.forbidden('HQ finance only');
    }
  });
});
