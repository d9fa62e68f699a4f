// The API as a Fastify plugin. api/server.ts owns the process (listen, signals);
// tests register this plugin on their own instance and use inject().
import path from 'node:path';
import fs from 'node:fs';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import sensible from '@fastify/sensible';
import helmet from 'helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../prisma/client';
import type { ApiConfig } from '../scripts/lib/config';
import { ErrorResponse } from './schemas';
import errorsPlugin from './plugins/errors';
import validationPlugin from './plugins/validation';
import changeFeedPlugin from './plugins/change-feed';
import cachesPlugin from './plugins/caches';
import authPlugin from './plugins/auth';
import healthRoutes from './routes/health';
import authRoutes from './routes/auth';
import transferRoutes from './routes/transfers';
import taskRoutes from './routes/tasks';
import policyRoutes from './routes/policies';
import reportRoutes from './routes/reports';
import fxRateRoutes from './routes/fx-rates';
import periodRoutes from './routes/periods';
import auditRoutes from './routes/audit';
import importRoutes from './routes/imports';
import channelRoutes from './routes/channels';
import notificationRoutes from './routes/notifications';
import configRoutes from './routes/config';
import transferActionRoutes from './routes/transfer-actions';
import eventRoutes from './routes/events';

export interface AppOptions {
  prisma: PrismaClient;
  temporal: Client;
  config: Pick<
    ApiConfig,
    'DEMO_MODE' | 'JWT_EXPIRES_IN' | 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'TEMPORAL_TASK_QUEUE' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_UI_URL'
  > &
    Partial<Pick<ApiConfig, 'DATABASE_URL' | 'JWT_JWKS_URL' | 'JWT_JWKS_ISSUER' | 'JWT_JWKS_AUDIENCE' | 'JWT_JWKS_USERNAME_CLAIM' | 'RATE_LIMIT_PER_MINUTE' | 'LOGIN_RATE_LIMIT_PER_MINUTE' | 'READ_CACHE_TTL_MS' | 'READ_CACHE_MB'>> & {
      JWT_SECRET: string;
    };
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppOptions;
  }
}

// The web inbox, built by scripts/build-web.ts: hashed assets are immutable, index.html is not cached.
const WEB_DIR = path.join(__dirname, '..', 'web', 'dist');

const app: FastifyPluginAsync<AppOptions> = async (fastify: FastifyInstance, opts) => {
  fastify.decorate('deps', opts);
  fastify.addSchema(ErrorResponse);
  await fastify.register(validationPlugin);
  await fastify.register(sensible);
  // Hardening headers (helmet). The middleware is built once: @fastify/helmet builds it
  // again on every request (its CSP directives parsed each time: ~5 % of a cached inbox
  // answer's CPU in bench/inbox.ts's profile).
  const hardening = helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
  });
  fastify.addHook('onRequest', (request, reply, done) => hardening(request.raw, reply.raw, (err) => done(err as Error | undefined)));
  // Per user once authenticated (per IP before), after the auth hooks have run.
  await fastify.register(rateLimit, {
    hook: 'preHandler',
    max: opts.config.RATE_LIMIT_PER_MINUTE ?? 1200,
    timeWindow: '1 minute',
    keyGenerator: (request) => (request.actor ? `user:${request.actor.userId}` : `ip:${request.ip}`),
    allowList: (request) => request.url === '/healthz' || request.url === '/readyz',
  });
  await fastify.register(errorsPlugin);
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Intercompany transfer confirmation API',
        description: 'Transfers between entities of a group, confirmed by the receiver within a deadline.',
        version: '0.1.0',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearerAuth: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await fastify.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  await fastify.register(changeFeedPlugin);
  await fastify.register(cachesPlugin);
  await fastify.register(authPlugin);
  await fastify.register(healthRoutes);
  await fastify.register(authRoutes, { prefix: '/api' });
  await fastify.register(transferRoutes, { prefix: '/api' });
  await fastify.register(taskRoutes, { prefix: '/api' });
  await fastify.register(policyRoutes, { prefix: '/api' });
  await fastify.register(reportRoutes, { prefix: '/api' });
  await fastify.register(fxRateRoutes, { prefix: '/api' });
  await fastify.register(periodRoutes, { prefix: '/api' });
  await fastify.register(auditRoutes, { prefix: '/api' });
  await fastify.register(importRoutes, { prefix: '/api' });
  await fastify.register(channelRoutes, { prefix: '/api' });
  await fastify.register(notificationRoutes, { prefix: '/api' });
  await fastify.register(configRoutes, { prefix: '/api' });
  await fastify.register(transferActionRoutes, { prefix: '/api' });
  await fastify.register(eventRoutes, { prefix: '/api' });
  if (fs.existsSync(path.join(WEB_DIR, 'index.html'))) {
    await fastify.register(fastifyStatic, {
      root: WEB_DIR,
      prefix: '/',
      index: 'index.html',
      cacheControl: false,
      setHeaders: (res, file) => {
        const immutable = file.includes(`${path.sep}assets${path.sep}`);
        res.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  } else {
    fastify.log.warn('web/dist is missing: the inbox is not served (run `npm run build:web`)');
  }
};

export default fp(app, { name: 'ic-confirm-app', fastify: '5.x' });
