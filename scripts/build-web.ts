// Builds the web inbox (web/src, Preact + TSX) into web/dist with esbuild: one bundled
// script and one stylesheet with content-hashed names under web/dist/assets (served
// as immutable), and web/dist/index.html (from the template web/index.html, served
// no-cache) that references them. Offline; about a second. `npm run build:web`;
// scripts/bootstrap.js runs it when web/dist is missing or older than web/src.
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.resolve(__dirname, '..');
export const WEB_DIR = path.join(ROOT, 'web');
export const DIST_DIR = path.join(WEB_DIR, 'dist');

export async function buildWeb(opts: { quiet?: boolean } = {}): Promise<{ files: string[] }> {
  const tmp = `${DIST_DIR}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: WEB_DIR,
    entryPoints: ['src/main.tsx'],
    bundle: true,
    minify: true,
    sourcemap: 'linked',
    format: 'iife',
    target: ['es2020', 'chrome100', 'safari15', 'firefox100'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: path.join(tmp, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: opts.quiet ? 'error' : 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => path.relative(tmp, path.resolve(WEB_DIR, p)).split(path.sep).join('/'));
  const js = outputs.filter((p) => p.endsWith('.js'));
  const css = outputs.filter((p) => p.endsWith('.css'));
  const template = fs.readFileSync(path.join(WEB_DIR, 'index.html'), 'utf8');
  const html = template
    .replace('<!-- styles -->', css.map((p) => `<link rel="stylesheet" href="/${p}">`).join('\n'))
    .replace('<!-- scripts -->', js.map((p) => `<script defer src="/${p}"></script>`).join('\n'));
  fs.writeFileSync(path.join(tmp, 'index.html'), html);
  // Swap in the new build at once (a running server keeps serving a complete one).
  const old = `${DIST_DIR}.old-${process.pid}`;
  if (fs.existsSync(DIST_DIR)) fs.renameSync(DIST_DIR, old);
  fs.renameSync(tmp, DIST_DIR);
  fs.rmSync(old, { recursive: true, force: true });
  return { files: [...outputs, 'index.html'] };
}

if (require.main === module) {
  const started = Date.now();
  buildWeb()
    .then(({ files }) => console.log(`web: built ${files.filter((f) => !f.endsWith('.map')).join(', ')} into web/dist in ${Date.now() - started} ms`))
    .catch((err) => {
      console.error(`web: build failed: ${(err as Error).message}`);
      process.exit(1);
    });
}
