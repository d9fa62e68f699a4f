// Static checks of docker-compose.yml, Dockerfile and .dockerignore (no Docker
// needed): the services and their start order, healthchecks, published ports,
// pinned image tags, and that the app services get only variables the app reads,
// with values the app's own env schema accepts.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { APP_LOGIN } from '../../scripts/lib/app-role';
import { API_ENV, EnvVars, WORKER_ENV, loadEnv } from '../../scripts/lib/config';

const ROOT = path.join(__dirname, '../..');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');

type Healthcheck = { test?: string | string[]; disable?: boolean };
type Build = string | { context?: string; dockerfile?: string };
type DependsOn = string[] | Record<string, { condition?: string }>;
type Port = string | number | { target?: number | string; published?: number | string };
type Service = {
  image?: string;
  build?: Build;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: DependsOn;
  healthcheck?: Healthcheck;
  ports?: Port[];
  volumes?: Array<string | { type?: string; source?: string; target?: string }>;
  restart?: string;
};
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

// Compose supports `<<` merge keys (YAML 1.1); the yaml package needs them enabled.
const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;
const services = compose.services;
const dockerfile = read('Dockerfile');

/** The variables the app reads (scripts/lib/config.ts) that the containers may set. */
const APP_ENV_VARS = [
  'DATABASE_URL',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'TEMPORAL_UI_URL',
  'HOST',
  'PORT',
  'PUBLIC_URL',
  'APP_DATABASE_PASSWORD',
  'JWT_SECRET',
  'DEMO_MODE',
  'LOG_LEVEL',
  'LOG_FORMAT',
];
const APP_SERVICES = ['migrate', 'worker', 'api'];
const LONG_RUNNING_WITH_HEALTHCHECK = ['postgres', 'temporal', 'api'];

function service(name: string): Service {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

function envOf(s: Service): Record<string, string | undefined> {
  const env = s.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const i = entry.indexOf('=');
        return i < 0 ? [entry, undefined] : [entry.slice(0, i), entry.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? undefined : String(v)]));
}

/** depends_on as service -> condition (the short list form means service_started). */
function dependsOn(s: Service): Record<string, string> {
  const d = s.depends_on ?? [];
  if (Array.isArray(d)) return Object.fromEntries(d.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(d).map(([name, v]) => [name, v?.condition ?? 'service_started']));
}

function commandText(cmd: string | string[] | undefined): string {
  return Array.isArray(cmd) ? cmd.join(' ') : (cmd ?? '');
}

/** [published, target] pairs for both the short ("[ip:]host:container[/proto]") and the long syntax. */
function publishedPorts(s: Service): Array<[number, number]> {
  return (s.ports ?? []).flatMap((p): Array<[number, number]> => {
    if (typeof p === 'object') {
      return p.published === undefined ? [] : [[Number(p.published), Number(p.target)]];
    }
    const parts = String(p).replace(/\/(tcp|udp)$/, '').split(':');
    if (parts.length < 2) return [];
    return [[Number(parts[parts.length - 2]), Number(parts[parts.length - 1])]];
  });
}

/** Resolves ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?msg}, ${VAR?msg} and $$ as Compose does. */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])((?:[^}])*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, name, colon, op, arg, bare) => {
    if (m === '$$') return '$';
    if (bare) return env[bare] ?? '';
    const v = env[name];
    const missing = colon ? v === undefined || v === '' : v === undefined;
    if (!op) return v ?? '';
    if (op === '-') return missing ? interpolate(arg, env) : (v as string);
    if (missing) throw new Error(`required variable ${name}: ${arg}`);
    return v as string;
  });
}

/** Image reference -> tag ('' when there is none; digests count as pinned). */
function imageTag(image: string): string {
  if (image.includes('@')) return image.split('@')[1];
  const last = image.split('/').pop() ?? '';
  const i = last.indexOf(':');
  return i < 0 ? '' : last.slice(i + 1);
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function dockerfileInstructions(text: string): Array<{ op: string; args: string }> {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l)!;
      return { op: m[1].toUpperCase(), args: m[2] };
    });
}

/** npm scripts a command runs: `npm run x`, `npm run-script x`, `npm start`, `npm test`. */
function npmScripts(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\bnpm\s+(?:run|run-script)\s+([^\s"',\]&|;]+)/g)) out.push(m[1]);
  for (const m of text.matchAll(/\bnpm\s+(start|test)\b/g)) out.push(m[1]);
  return out;
}

/** The text of CMD/ENTRYPOINT, exec form (JSON array) or shell form. */
function execText(args: string): string {
  try {
    const arr: unknown = JSON.parse(args);
    if (Array.isArray(arr)) return arr.join(' ');
  } catch {
    // shell form
  }
  return args;
}

describe('docker-compose.yml', () => {
  test('has the required services', () => {
    for (const name of ['postgres', 'temporal', 'temporal-ui', 'migrate', 'worker', 'api']) {
      expect(services).toHaveProperty([name]);
    }
  });

  test('every depends_on names an existing service with a valid condition', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, condition] of Object.entries(dependsOn(s))) {
        expect({ service: name, dependsOn: dep, exists: dep in services }).toEqual({ service: name, dependsOn: dep, exists: true });
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(condition);
      }
    }
  });

  test('long-running services have a healthcheck', () => {
    for (const name of LONG_RUNNING_WITH_HEALTHCHECK) {
      const hc = service(name).healthcheck;
      expect({ service: name, test: hc?.test !== undefined && hc.test.length > 0, disabled: hc?.disable === true }).toEqual({
        service: name,
        test: true,
        disabled: false,
      });
    }
  });

  test('services waited on as healthy have a healthcheck; one-shot services are not restarted', () => {
    for (const s of Object.values(services)) {
      for (const [dep, condition] of Object.entries(dependsOn(s))) {
        if (condition === 'service_healthy') expect({ dep, healthcheck: Boolean(services[dep]?.healthcheck?.test) }).toEqual({ dep, healthcheck: true });
        if (condition === 'service_completed_successfully') {
          expect({ dep, restart: services[dep]?.restart ?? 'no' }).not.toEqual({ dep, restart: expect.stringMatching(/^(always|unless-stopped)$/) });
        }
      }
    }
  });

  test('postgres: pinned 16/17 image, pg_isready healthcheck, named data volume, app database', () => {
    const pg = service('postgres');
    expect(pg.image).toMatch(/^postgres:1[67]([.-][\w.-]+)?$/);
    expect(commandText(pg.healthcheck?.test)).toMatch(/pg_isready/);
    const dataVolume = (pg.volumes ?? [])
      .map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v))
      .find((v) => v.target === '/var/lib/postgresql/data');
    expect(dataVolume).toBeDefined();
    expect(compose.volumes ?? {}).toHaveProperty([dataVolume!.source!]);
    expect(envOf(pg).POSTGRES_DB).toBe('ic_confirm');
  });

  test('temporal waits for a healthy postgres and stores its data there', () => {
    const t = service('temporal');
    expect(dependsOn(t).postgres).toBe('service_healthy');
    expect(envOf(t).POSTGRES_SEEDS).toBe('postgres');
    expect(envOf(t).DB).toMatch(/^postgres12(_pgx)?$/);
  });

  test('temporal-ui publishes 8233 and points at temporal:7233', () => {
    const ui = service('temporal-ui');
    expect(publishedPorts(ui)).toContainEqual([8233, 8080]);
    expect(envOf(ui).TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  test.each(APP_SERVICES)('%s is built from the app Dockerfile', (name) => {
    const build = service(name).build;
    expect(build).toBeDefined();
    const context = typeof build === 'string' ? build : (build?.context ?? '.');
    const file = typeof build === 'string' ? 'Dockerfile' : (build?.dockerfile ?? 'Dockerfile');
    expect(path.resolve(ROOT, context)).toBe(ROOT);
    expect(path.resolve(ROOT, context, file)).toBe(path.join(ROOT, 'Dockerfile'));
  });

  test('migrate runs db:migrate, db:seed, then db:app-login once postgres is healthy', () => {
    const m = service('migrate');
    expect(dependsOn(m).postgres).toBe('service_healthy');
    expect(npmScripts(commandText(m.command))).toEqual(['db:migrate', 'db:seed', 'db:app-login']);
    expect(envOf(m).DATABASE_URL).toMatch(/^postgres(ql)?:\/\//);
  });

  test.each([
    ['worker', 'worker'],
    ['api', 'api'],
  ])('%s runs `npm run %s` after temporal is healthy and migrate has completed', (name, script) => {
    const s = service(name);
    expect(npmScripts(commandText(s.command))).toEqual([script]);
    expect(dependsOn(s)).toMatchObject({ temporal: 'service_healthy', migrate: 'service_completed_successfully' });
  });

  test('api publishes 3000, listens on all interfaces and is health-checked on /healthz without curl', () => {
    const api = service('api');
    expect(publishedPorts(api)).toContainEqual([3000, 3000]);
    expect(envOf(api)).toMatchObject({ HOST: '0.0.0.0', PORT: '3000' });
    const hc = commandText(api.healthcheck?.test);
    expect(hc).toMatch(/\bnode\b/);
    expect(hc).toMatch(/fetch\(\s*['"]http:\/\/(localhost|127\.0\.0\.1):3000\/healthz['"]/);
    expect(hc).not.toMatch(/\bcurl\b|\bwget\b/);
  });

  test('app services set only variables the app documents', () => {
    for (const name of APP_SERVICES) {
      for (const key of Object.keys(envOf(service(name)))) {
        expect({ service: name, variable: key, documented: APP_ENV_VARS.includes(key) }).toEqual({ service: name, variable: key, documented: true });
      }
    }
    // ...and the documented list itself matches the app's env schema.
    for (const key of APP_ENV_VARS) expect(Object.keys(EnvVars)).toContain(key);
  });

  test("the app's env schema accepts the values compose passes (variables unset, defaults applied)", () => {
    const resolved = (name: string) =>
      Object.fromEntries(Object.entries(envOf(service(name))).map(([k, v]) => [k, v === undefined ? undefined : interpolate(v, {})]));
    const worker = loadEnv(WORKER_ENV, resolved('worker'));
    const api = loadEnv(API_ENV, resolved('api'));
    for (const cfg of [worker, api]) {
      expect(cfg).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233', LOG_FORMAT: 'json' });
      expect(cfg.DATABASE_URL).toMatch(/@postgres:5432\/ic_confirm$/);
    }
    expect(api).toMatchObject({ HOST: '0.0.0.0', PORT: 3000, TEMPORAL_UI_URL: 'http://localhost:8233' });
    expect(worker.PUBLIC_URL).toBe('http://localhost:3000');

    // migrate runs as the superuser the postgres service is created with...
    const pg = Object.fromEntries(Object.entries(envOf(service('postgres'))).map(([k, v]) => [k, interpolate(v ?? '', {})]));
    const migrate = loadEnv(['DATABASE_URL', 'APP_DATABASE_PASSWORD'], resolved('migrate'));
    const owner = new URL(migrate.DATABASE_URL);
    expect({ host: owner.hostname, user: owner.username, password: owner.password, db: owner.pathname.slice(1) }).toEqual({
      host: 'postgres',
      user: pg.POSTGRES_USER ?? 'postgres',
      password: pg.POSTGRES_PASSWORD,
      db: pg.POSTGRES_DB ?? pg.POSTGRES_USER ?? 'postgres',
    });
    // ...and the worker and the API as the login role it creates, with the same password.
    for (const cfg of [worker, api]) {
      const url = new URL(cfg.DATABASE_URL);
      expect({ host: url.hostname, user: url.username, password: url.password, db: url.pathname.slice(1) }).toEqual({
        host: 'postgres',
        user: APP_LOGIN,
        password: migrate.APP_DATABASE_PASSWORD,
        db: owner.pathname.slice(1),
      });
    }
  });

  test('JWT_SECRET is never written into the file, only passed through', () => {
    for (const name of APP_SERVICES) {
      const v = envOf(service(name)).JWT_SECRET;
      if (v !== undefined) expect(v).toMatch(/^\$\{JWT_SECRET(:?[-?][^}]*)?\}$/);
    }
  });

  test('every image has an explicit tag other than latest', () => {
    const images = Object.entries(services).filter(([, s]) => s.image);
    expect(images.length).toBeGreaterThan(0);
    for (const [name, s] of images) {
      const tag = imageTag(s.image!);
      expect({ service: name, image: s.image, pinned: tag !== '' && tag !== 'latest' && !tag.includes('$') }).toEqual({
        service: name,
        image: s.image,
        pinned: true,
      });
    }
  });
});

describe('Dockerfile', () => {
  const instructions = dockerfileInstructions(dockerfile);
  const froms = instructions.filter((i) => i.op === 'FROM');

  test('starts from a pinned node >= 20 bookworm-slim image and runs as the node user', () => {
    const stages = new Set<string>();
    for (const { args } of froms) {
      const [image, , alias] = args.replace(/--platform=\S+\s+/, '').split(/\s+/);
      if (!stages.has(image)) {
        const tag = imageTag(image);
        expect({ image, pinned: tag !== '' && tag !== 'latest' }).toEqual({ image, pinned: true });
      }
      if (alias) stages.add(alias);
    }
    const final = froms[froms.length - 1].args.split(/\s+/)[0];
    const m = /^node:(\d+)[\w.-]*-bookworm-slim$/.exec(final);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(20);
    const users = instructions.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(users[users.length - 1]).toBe('node');
  });

  test('installs from the lockfile without install scripts and generates the Prisma client', () => {
    const runs = instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    expect(runs).toMatch(/\bnpm install\b[^\n]*--ignore-scripts/);
    expect(fs.existsSync(path.join(ROOT, 'package-lock.json'))).toBe(true);
    expect(runs).toMatch(/prisma generate/);
  });

  test('CMD and the compose commands run npm scripts that exist in package.json', () => {
    const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts?: Record<string, string> }).scripts ?? {});
    const referenced = new Set<string>();
    for (const i of instructions.filter((x) => x.op === 'CMD' || x.op === 'ENTRYPOINT')) {
      for (const s of npmScripts(execText(i.args))) referenced.add(s);
    }
    for (const name of APP_SERVICES) {
      for (const s of npmScripts(commandText(service(name).command))) referenced.add(s);
    }
    expect([...referenced].sort()).toEqual(expect.arrayContaining(['api', 'db:migrate', 'db:seed', 'worker']));
    expect([...referenced].filter((s) => !scripts.includes(s))).toEqual([]);
  });
});

describe('.dockerignore', () => {
  test('keeps local state, build output and the git history out of the build context', () => {
    const entries = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim().replace(/^\/|\/$/g, ''))
      .filter((l) => l && !l.startsWith('#'));
    for (const e of ['node_modules', '.tools', '.data', 'generated', 'artifacts', 'coverage', '.git']) expect(entries).toContain(e);
  });
});
