// Tokens, SSO by JWKS, login rate limit, hardening headers and log redaction, through
// inject() on the app plugin with the real database.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createSigner } from 'fast-jwt';
import pino from 'pino';
import { buildServer, createTemporalClient } from '../../api/server';
import { createPrisma } from '../../prisma/client';
import { loadEnv, API_ENV } from '../../scripts/lib/config';
import { createLogger } from '../../scripts/lib/logger';
import { createFixture, PASSWORD, testPrisma } from '../helpers/fixtures';

const SECRET = 'x'.repeat(40);
const silent = pino({ level: 'silent' });

async function server(extra: Record<string, string> = {}) {
  const config = loadEnv(API_ENV, {
    DATABASE_URL: process.env.TEST_DATABASE_URL!,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
    JWT_SECRET: SECRET,
    ...extra,
  });
  const prisma = createPrisma(config.DATABASE_URL);
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

const sign = (payload: Record<string, unknown>, opts: Record<string, unknown> = {}) =>
  createSigner({ key: SECRET, algorithm: 'HS256', iss: 'ic-confirm', aud: 'ic-confirm-api', expiresIn: 60_000, ...opts })(payload);

describe('our tokens', () => {
  it('refuse expired, tampered, wrong-algorithm, wrong issuer / audience tokens, and a disabled user at once', async () => {
    const fx = await createFixture();
    const s = await server();
    try {
      const me = (token: string) => s.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } });
      const sub = fx.users.receiverAcc.id;
      expect((await me(sign({ sub, name: 'x' }))).statusCode).toBe(200);
      expect((await me(sign({ sub, name: 'x' }, { expiresIn: 1, clockTimestamp: Date.now() - 60_000 }))).statusCode).toBe(401);
      expect((await me(sign({ sub, name: 'x' }, { iss: 'someone-else' }))).statusCode).toBe(401);
      expect((await me(sign({ sub, name: 'x' }, { aud: 'another-api' }))).statusCode).toBe(401);
      expect((await me(createSigner({ key: SECRET, algorithm: 'HS512', iss: 'ic-confirm', aud: 'ic-confirm-api' })({ sub, name: 'x' }))).statusCode).toBe(401);
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub, iss: 'ic-confirm', aud: 'ic-confirm-api' })).toString('base64url')}.`;
      expect((await me(none)).statusCode).toBe(401);
      const [h, , sig] = sign({ sub, name: 'x' }).split('.');
      const other = Buffer.from(JSON.stringify({ sub: fx.users.hq.id, name: 'x', iss: 'ic-confirm', aud: 'ic-confirm-api', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
      expect((await me(`${h}.${other}.${sig}`)).statusCode).toBe(401);
      // Disabled: the same valid token stops working at once.
      const token = sign({ sub, name: 'x' });
      await testPrisma().user.update({ where: { id: sub }, data: { active: false } });
      const r = await me(token);
      expect(r.statusCode).toBe(401);
      expect(r.json().message).toBe('user is disabled or no longer exists');
    } finally {
      await s.close();
    }
  });

  it('rate-limits login attempts per username and address', async () => {
    const fx = await createFixture();
    const s = await server({ LOGIN_RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const attempt = (password: string) => s.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: fx.users.senderAcc.username, password } });
      expect((await attempt('wrong')).statusCode).toBe(401);
      expect((await attempt('wrong')).statusCode).toBe(401);
      expect((await attempt(PASSWORD)).statusCode).toBe(200);
      const limited = await attempt(PASSWORD);
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
      // Another user from the same address is not affected.
      expect((await s.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: fx.users.receiverAcc.username, password: PASSWORD } })).statusCode).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('rate-limits each user once authenticated, not the whole address', async () => {
    const fx = await createFixture();
    const s = await server({ RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const me = (sub: string) => s.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${sign({ sub, name: 'x' })}` } });
      for (let i = 0; i < 3; i++) expect((await me(fx.users.senderAcc.id)).statusCode).toBe(200);
      const limited = await me(fx.users.senderAcc.id);
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['retry-after']).toBeDefined();
      expect((await me(fx.users.receiverAcc.id)).statusCode).toBe(200);
      expect((await s.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('sends hardening headers', async () => {
    const s = await server();
    try {
      const r = await s.app.inject({ method: 'GET', url: '/healthz' });
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['content-security-policy']).toContain("default-src 'self'");
      expect(r.headers['x-frame-options']).toBe('SAMEORIGIN');
      const big = await s.app.inject({ method: 'POST', url: '/api/auth/login', payload: JSON.stringify({ username: 'a', password: 'x'.repeat(2 * 1024 * 1024) }), headers: { 'content-type': 'application/json' } });
      expect(big.statusCode).toBe(413);
    } finally {
      await s.close();
    }
  });
});

describe('single sign-on by JWKS', () => {
  it('accepts RS256 tokens of the configured identity provider, mapped by username; refuses others', async () => {
    const fx = await createFixture();
    const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const intruder = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...(publicKey.export({ format: 'jwk' }) as object), kid: 'k1', alg: 'RS256', use: 'sig' };
    const idp = http.createServer((req, res) => {
      if (req.url === '/realms/group/jwks') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [jwk] }));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
    const s = await server({ JWT_JWKS_URL: `${base}/realms/group/jwks`, JWT_JWKS_ISSUER: `${base}/realms/group`, JWT_JWKS_AUDIENCE: 'ic-confirm' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const ssoToken = (claims: Record<string, unknown>, key = pem, iss = `${base}/realms/group`) =>
      createSigner({ key, algorithm: 'RS256', kid: 'k1', iss, aud: 'ic-confirm', expiresIn: 60_000 })(claims);
    try {
      const me = (token: string) => s.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } });
      const ok = await me(ssoToken({ sub: 'external-42', preferred_username: fx.users.receiverAcc.username }));
      expect(ok.statusCode).toBe(200);
      expect(ok.json().username).toBe(fx.users.receiverAcc.username);
      expect((await me(ssoToken({ preferred_username: fx.users.receiverAcc.username }, intruder.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()))).statusCode).toBe(401);
      expect((await me(ssoToken({ preferred_username: fx.users.receiverAcc.username }, pem, 'https://evil.example/realms/group'))).statusCode).toBe(401);
      expect((await me(ssoToken({ preferred_username: 'nobody-here' }))).statusCode).toBe(401);
      // Algorithm confusion: an HS256 token keyed with the provider's public key is not ours.
      const pub = publicKey.export({ format: 'pem', type: 'spki' }).toString();
      const confused = createSigner({ key: pub, algorithm: 'HS256', iss: `${base}/realms/group`, aud: 'ic-confirm' })({ preferred_username: fx.users.receiverAcc.username });
      expect((await me(confused)).statusCode).toBe(401);
      // Our own tokens keep working beside SSO.
      expect((await me(sign({ sub: fx.users.senderAcc.id, name: 'x' }))).statusCode).toBe(200);
    } finally {
      await s.close();
      idp.close();
    }
  });
});

describe('log redaction', () => {
  it('never writes authorization headers, passwords, tokens or secrets', () => {
    let out = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        out += chunk;
        cb();
      },
    });
    const log = createLogger({ destination: sink });
    log.info({ req: { headers: { authorization: 'Bearer abc.def.ghi' } }, body: { password: 'hunter2' }, robot: { webhookUrl: 'https://oapi.dingtalk.com/robot/send?access_token=t0k', signingSecret: 'SECabc' }, token: 'raw-token' }, 'x');
    expect(out).not.toMatch(/abc\.def\.ghi|hunter2|t0k|SECabc|raw-token/);
    expect(out).toContain('[redacted]');
  });
});
