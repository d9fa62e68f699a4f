// Configuration comes only from environment variables. Every variable is declared
// here (and documented in README); a bad value stops the process with a message
// naming the variable.
import { Type, type Static, type TSchema, type TObject } from '@sinclair/typebox';
import { envSchema } from 'env-schema';

const Bool = Type.Boolean();
const Duration = Type.String({ pattern: '^P(?!$)(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+S)?)?$' });

export const EnvVars = {
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  LOG_FORMAT: Type.Union([Type.Literal('json'), Type.Literal('pretty')], { default: 'json' }),
  DEMO_MODE: { ...Bool, default: false },
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  /** `npm run db:app-login`: the password of the application's login role (ic_confirm_app_login). */
  APP_DATABASE_PASSWORD: Type.Optional(Type.String({ minLength: 12, pattern: '^[A-Za-z0-9_.~-]+$' })),
  TEMPORAL_ADDRESS: Type.String({ default: 'localhost:7233', pattern: '^[^\\s/]+:\\d+$' }),
  TEMPORAL_NAMESPACE: Type.String({ default: 'default', minLength: 1 }),
  TEMPORAL_TASK_QUEUE: Type.String({ default: 'transfers', minLength: 1 }),
  TEMPORAL_UI_URL: Type.String({ default: 'http://localhost:8233', pattern: '^https?://' }),
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  JWT_EXPIRES_IN: Type.String({ default: '8h', pattern: '^\\d+[smhd]$' }),
  JWT_ISSUER: Type.String({ default: 'ic-confirm' }),
  JWT_AUDIENCE: Type.String({ default: 'ic-confirm-api' }),
  // Optional single sign-on: also accept RS256/ES256 tokens of an identity provider.
  JWT_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  JWT_JWKS_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  JWT_JWKS_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  JWT_JWKS_USERNAME_CLAIM: Type.String({ default: 'preferred_username' }),
  RATE_LIMIT_PER_MINUTE: Type.Integer({ default: 1200, minimum: 1 }),
  LOGIN_RATE_LIMIT_PER_MINUTE: Type.Integer({ default: 10, minimum: 1 }),
  // The API's read caches (api/read-cache.ts): how long an entry may be served (0 turns them
  // off) and how much memory they may hold.
  READ_CACHE_TTL_MS: Type.Integer({ default: 1000, minimum: 0, maximum: 60_000 }),
  READ_CACHE_MB: Type.Integer({ default: 64, minimum: 0, maximum: 4096 }),
  // WeCom / DingTalk robots: webhook URLs HQ may register (comma-separated URL prefixes).
  ROBOT_ALLOWED_URL_PREFIXES: Type.String({ default: 'https://qyapi.weixin.qq.com/,https://oapi.dingtalk.com/', pattern: '^\\s*https?://[^,\\s]+(\\s*,\\s*https?://[^,\\s]+)*\\s*$' }),
  // `npm start` only (the embedded defaults)
  PG_DATA_DIR: Type.String({ default: '.data/postgres' }),
  PG_PORT: Type.Integer({ default: 5433, minimum: 1, maximum: 65535 }),
  TEMPORAL_PORT: Type.Integer({ default: 7233, minimum: 1, maximum: 65535 }),
  TEMPORAL_UI_PORT: Type.Integer({ default: 8233, minimum: 1, maximum: 65535 }),
  TEMPORAL_DB_FILE: Type.String({ default: '.data/temporal.sqlite' }),
  TEMPORAL_BIN: Type.Optional(Type.String()),
  /** The worker in the stack's own process (inline), or in a child process as in production (process). */
  STACK_WORKER: Type.Union([Type.Literal('inline'), Type.Literal('process')], { default: 'inline' }),
  WORKFLOW_BUNDLE: Type.Optional(Type.String()),
} satisfies Record<string, TSchema>;

type Vars = typeof EnvVars;
export type EnvKey = keyof Vars;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Loads the named variables from `env`, with defaults, or throws a ConfigError naming each bad one. */
export function loadEnv<K extends EnvKey>(
  keys: readonly K[],
  env: NodeJS.ProcessEnv = process.env,
): Static<TObject<Pick<Vars, K>>> {
  const props = Object.fromEntries(keys.map((k) => [k, EnvVars[k]])) as Pick<Vars, K>;
  const schema = Type.Object(props);
  const data = Object.fromEntries(keys.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  try {
    return envSchema({ schema, data, env: false, dotenv: false }) as Static<TObject<Pick<Vars, K>>>;
  } catch (err) {
    const errors = (err as { errors?: Array<{ instancePath: string; message?: string; params?: { missingProperty?: string } }> }).errors;
    if (!errors) throw new ConfigError((err as Error).message);
    const lines = errors.map((e) => {
      const name = e.params?.missingProperty ?? e.instancePath.replace(/^\//, '');
      // Never echo secrets (DATABASE_URL may carry a password).
      const got = /SECRET|PASSWORD|TOKEN|DATABASE_URL/.test(name) ? undefined : env[name];
      return `  ${name}: ${e.params?.missingProperty ? 'is required but not set' : e.message}${got !== undefined && !e.params?.missingProperty ? ` (got ${JSON.stringify(got)})` : ''}`;
    });
    throw new ConfigError(`invalid environment:\n${[...new Set(lines)].join('\n')}`);
  }
}

export const WORKER_ENV = ['LOG_LEVEL', 'LOG_FORMAT', 'DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE', 'WORKFLOW_BUNDLE', 'PUBLIC_URL'] as const;
export const API_ENV = [
  'LOG_LEVEL', 'LOG_FORMAT', 'DEMO_MODE', 'DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE',
  'TEMPORAL_UI_URL', 'HOST', 'PORT', 'PUBLIC_URL', 'JWT_SECRET', 'JWT_EXPIRES_IN', 'JWT_ISSUER', 'JWT_AUDIENCE',
  'JWT_JWKS_URL', 'JWT_JWKS_ISSUER', 'JWT_JWKS_AUDIENCE', 'JWT_JWKS_USERNAME_CLAIM', 'RATE_LIMIT_PER_MINUTE', 'LOGIN_RATE_LIMIT_PER_MINUTE',
  'ROBOT_ALLOWED_URL_PREFIXES', 'READ_CACHE_TTL_MS', 'READ_CACHE_MB',
] as const;
export type WorkerConfig = ReturnType<typeof loadEnv<(typeof WORKER_ENV)[number]>>;
export type ApiConfig = ReturnType<typeof loadEnv<(typeof API_ENV)[number]>>;
