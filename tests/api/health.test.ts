// The app plugin through inject(): readiness names what is down, errors are shaped
// and 5xx details are masked.
import pino from 'pino';
import { buildServer, createTemporalClient } from '../../api/server';
import { createPrisma } from '../../prisma/client';
import { loadEnv, API_ENV } from '../../scripts/lib/config';
import { freePort } from '../../scripts/lib/embedded-postgres';

const silent = pino({ level: 'silent' });

async function server(databaseUrl: string, temporalAddress: string) {
  const config = loadEnv(API_ENV, {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    JWT_SECRET: 'x'.repeat(40),
  });
  const prisma = createPrisma(databaseUrl);
  const temporal = createTemporalClient(config);
  const app = await buildServer(config, { prisma, temporal, logger: silent });
  return {
    app,
    async close() {
      await app.close();
      await temporal.connection.close().catch(() => undefined);
      await prisma.$disconnect();
    },
  };
}

describe('GET /readyz', () => {
  it('is 200 when PostgreSQL and Temporal answer', async () => {
    const s = await server(process.env.TEST_DATABASE_URL!, process.env.TEST_TEMPORAL_ADDRESS!);
    try {
      const r = await s.app.inject({ method: 'GET', url: '/readyz' });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toMatchObject({ status: 'ok', down: [] });
      expect(r.headers['x-request-id']).toBeTruthy();
    } finally {
      await s.close();
    }
  });

  it('is 503 naming Temporal when Temporal is down', async () => {
    const s = await server(process.env.TEST_DATABASE_URL!, `127.0.0.1:${await freePort()}`);
    try {
      const r = await s.app.inject({ method: 'GET', url: '/readyz' });
      expect(r.statusCode).toBe(503);
      expect(r.json()).toMatchObject({ status: 'unavailable', down: ['temporal'], checks: { database: { ok: true }, temporal: { ok: false } } });
      expect((await s.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('is 503 naming the database when PostgreSQL is down', async () => {
    const s = await server(`postgresql://nobody:x@127.0.0.1:${await freePort()}/none`, process.env.TEST_TEMPORAL_ADDRESS!);
    try {
      const r = await s.app.inject({ method: 'GET', url: '/readyz' });
      expect(r.statusCode).toBe(503);
      expect(r.json().down).toEqual(['database']);
      // Any other route that needs the database answers 503 naming it, not a 500 with a stack.
      const login = await s.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'a', password: 'b' } });
      expect(login.statusCode).toBe(503);
      expect(login.json()).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'the database is unavailable; try again shortly', requestId: expect.any(String) });
    } finally {
      await s.close();
    }
  });
});

describe('errors', () => {
  it('answers unknown routes with a 404 body and bad bodies with 400 naming the field and rule', async () => {
    const s = await server(process.env.TEST_DATABASE_URL!, process.env.TEST_TEMPORAL_ADDRESS!);
    try {
      const r = await s.app.inject({ method: 'GET', url: '/nope' });
      expect(r.statusCode).toBe(404);
      expect(r.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
      const bad = await s.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: '', password: 'x', admin: true } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().details).toEqual(
        expect.arrayContaining([
          { field: 'username', rule: 'minLength', message: 'must NOT have fewer than 1 characters' },
          { field: 'admin', rule: 'additionalProperties', message: 'unknown field' },
        ]),
      );
    } finally {
      await s.close();
    }
  });
});

