import { API_ENV, ConfigError, loadEnv, WORKER_ENV } from '../../scripts/lib/config';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jwtSecret } from '../../api/server';
import { reachableDataDir } from '../../scripts/lib/embedded-postgres';

describe('configuration from env vars', () => {
  it('applies documented defaults', () => {
    const c = loadEnv(API_ENV, { DATABASE_URL: 'postgresql://u:p@h:5432/d' });
    expect(c).toMatchObject({ PORT: 3000, TEMPORAL_ADDRESS: 'localhost:7233', TEMPORAL_TASK_QUEUE: 'transfers', JWT_EXPIRES_IN: '8h', DEMO_MODE: false });
  });

  it('names every bad variable and the rule, without echoing secrets', () => {
    let err: unknown;
    try {
      loadEnv(API_ENV, { PORT: 'eighty', TEMPORAL_ADDRESS: 'no-port', JWT_SECRET: 'short-secret-value' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('DATABASE_URL: is required but not set');
    expect(msg).toContain('PORT: must be integer (got "eighty")');
    expect(msg).toContain('TEMPORAL_ADDRESS: must match pattern');
    expect(msg).toContain('JWT_SECRET: must NOT have fewer than 32 characters');
    expect(msg).not.toContain('short-secret-value');
  });

  it('requires JWT_SECRET outside demo mode and generates one in demo mode', () => {
    expect(() => jwtSecret({ DEMO_MODE: false, JWT_SECRET: undefined })).toThrow('JWT_SECRET');
    const a = jwtSecret({ DEMO_MODE: true, JWT_SECRET: undefined });
    expect(a.length).toBeGreaterThanOrEqual(32);
    expect(jwtSecret({ DEMO_MODE: true, JWT_SECRET: undefined })).not.toBe(a);
    expect(() => loadEnv(WORKER_ENV, { DATABASE_URL: 'mysql://x' })).toThrow('DATABASE_URL: must match pattern');
  });
});

describe('embedded PostgreSQL data directory', () => {
  it('falls back to a temp directory when the postgres OS user could not reach the checkout (root only)', () => {
    const priv = fs.mkdtempSync(path.join(os.tmpdir(), 'ic-priv-'));
    fs.chmodSync(priv, 0o700);
    const wanted = path.join(priv, 'repo', '.data', 'postgres');
    const messages: string[] = [];
    const got = reachableDataDir(wanted, (m) => messages.push(m));
    if (os.userInfo().uid === 0) {
      expect(got).not.toBe(wanted);
      expect(got.startsWith(os.tmpdir())).toBe(true);
      expect(reachableDataDir(wanted)).toBe(got); // stable between runs
      expect(messages[0]).toContain('set PG_DATA_DIR to choose');
    } else {
      expect(got).toBe(wanted);
    }
    fs.chmodSync(priv, 0o755);
    expect(reachableDataDir(wanted)).toBe(wanted);
    fs.rmSync(priv, { recursive: true, force: true });
  });
});
