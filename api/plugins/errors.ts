// The one error handler: validation errors name the field and the rule; client errors
// pass through; anything else is a 500 whose details stay in the log.
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
}

function fieldOf(e: AjvError, context?: string): string {
  const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const extra = (e.params?.missingProperty ?? e.params?.additionalProperty) as string | undefined;
  const field = [base, extra].filter(Boolean).join('.');
  return field || context || '(root)';
}

const DB_DOWN = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'P1001', 'P1002', 'P1017', '57P01', '57P03', '08006', '08001']);

/** Which dependency an error says is unreachable, if any (walks the cause chain). */
export function unavailableDependency(err: unknown): 'database' | 'temporal' | null {
  for (let e = err as { code?: unknown; cause?: unknown; name?: string; message?: string } | undefined, depth = 0; e && depth < 6; e = e.cause as typeof e, depth++) {
    const code = e.code;
    if (typeof code === 'string' && DB_DOWN.has(code)) return 'database';
    // Prisma wraps PostgreSQL's own codes (e.g. 57P03 "the database system is starting up",
    // seen while it recovers after a restart) as P2039 with the driver adapter's error in meta.
    const original = (e as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } }).meta?.driverAdapterError?.cause?.originalCode;
    if (typeof original === 'string' && DB_DOWN.has(original)) return 'database';
    if (e.name === 'PrismaClientInitializationError' || /Can't reach database server|DatabaseNotReachable|Connection terminated/i.test(e.message ?? '')) return 'database';
    if (code === 14 || e.name === 'ServiceError' && /UNAVAILABLE|14 /.test(e.message ?? '')) return 'temporal';
  }
  return null;
}

export default fp(async function errors(fastify: FastifyInstance) {
  fastify.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation) {
      const details = (err.validation as AjvError[]).map((e) => ({
        field: fieldOf(e, err.validationContext),
        rule: e.keyword,
        message: e.keyword === 'additionalProperties' ? 'unknown field' : (e.message ?? 'invalid'),
      }));
      return reply.status(400).send({
        statusCode: 400,
        error: 'Bad Request',
        message: `invalid ${err.validationContext ?? 'request'}: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`,
        code: 'VALIDATION',
        details,
        requestId: request.id,
      });
    }
    const down = (err.statusCode ?? 500) >= 500 ? unavailableDependency(err) : null;
    if (down) {
      request.log.warn({ err }, `${down} unavailable`);
      return reply.status(503).header('retry-after', '5').send({
        statusCode: 503,
        error: 'Service Unavailable',
        message: `the ${down} is unavailable; try again shortly`,
        requestId: request.id,
      });
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      const unavailable = status === 503;
      if (unavailable) reply.header('retry-after', '5');
      return reply.status(status).send({
        statusCode: status,
        error: unavailable ? 'Service Unavailable' : 'Internal Server Error',
        message: unavailable ? err.message : 'internal error; quote the request id to support',
        requestId: request.id,
      });
    }
    return reply.status(status).send({
      statusCode: status,
      error: httpName(status),
      message: err.message,
      ...(err.code && !err.code.startsWith('FST_') ? { code: err.code } : {}),
      requestId: request.id,
    });
  });
  fastify.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ statusCode: 404, error: 'Not Found', message: `no route ${request.method} ${request.url.split('?')[0]}`, requestId: request.id });
  });
});

function httpName(status: number): string {
  return (
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests' } as Record<number, string>
  )[status] ?? 'Error';
}
