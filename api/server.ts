// The API process: builds Fastify with pino (request ids), registers the app plugin,
// listens, and closes gracefully. `npm run api` starts it alone (configured by env vars).
import crypto from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Client, Connection } from '@temporalio/client';
import app from './app';
import { createPrisma, type PrismaClient } from '../prisma/client';
import { API_ENV, ConfigError, loadEnv, type ApiConfig } from '../scripts/lib/config';
import { createLogger } from '../scripts/lib/logger';

export interface ServerDeps {
  prisma: PrismaClient;
  temporal: Client;
  logger: Logger;
}

/** Resolves the JWT secret: from env, or a random one in demo mode. */
export function jwtSecret(config: Pick<ApiConfig, 'JWT_SECRET' | 'DEMO_MODE'>): string {
  if (config.JWT_SECRET) return config.JWT_SECRET;
  if (config.DEMO_MODE) return crypto.randomBytes(48).toString('base64url');
  throw new ConfigError('invalid environment:\n  JWT_SECRET: is required (32+ characters) unless DEMO_MODE=true');
}

export async function buildServer(config: ApiConfig, deps: ServerDeps): Promise<FastifyInstance> {
  const fastify = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : crypto.randomUUID();
    },
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
    trustProxy: false,
    // One access-log line per request, when it is answered (below), instead of Fastify's two
    // (incoming, completed): logging was a sixth of a cached inbox answer's CPU.
    disableRequestLogging: true,
  });
  fastify.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { req: request, res: reply, responseTime: reply.elapsedTime, user: request.actor?.username },
      'request completed',
    );
  });
  fastify.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  await fastify.register(app, {
    prisma: deps.prisma,
    temporal: deps.temporal,
    config: { ...config, JWT_SECRET: jwtSecret(config) },
  });
  return fastify;
}

/** A Temporal client whose connection is made on first use, so the API starts (and /readyz reports) while Temporal is down. */
export function createTemporalClient(config: Pick<ApiConfig, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>): Client {
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}

async function main(): Promise<void> {
  const config = loadEnv(API_ENV);
  const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, name: 'api' });
  const prisma = createPrisma(config.DATABASE_URL);
  const temporal = createTemporalClient(config);
  const server = await buildServer(config, { prisma, temporal, logger });
  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'closing');
    await server.close();
    await temporal.connection.close();
    await prisma.$disconnect();
  };
  process.once('SIGINT', () => void close('SIGINT'));
  process.once('SIGTERM', () => void close('SIGTERM'));
  try {
    await server.listen({ host: config.HOST, port: config.PORT });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new ConfigError(`port ${config.PORT} is already in use: set PORT to a free port`);
    }
    throw err;
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`api: ${err instanceof ConfigError ? err.message : `cannot start: ${(err as Error).message}`}`);
    process.exit(1);
  });
}
