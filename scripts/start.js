// `npm start`: install what is missing, then run the whole stack (scripts/stack.ts).
// Plain Node on purpose: it runs on a fresh clone before node_modules exists.
'use strict';
const path = require('node:path');
const { spawn } = require('node:child_process');
const { bootstrap, ROOT } = require('./bootstrap');

bootstrap({ test: false });

const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'stack.ts')], { cwd: ROOT, stdio: 'inherit' });
// Ctrl-C reaches the whole process group; the stack shuts itself down. A SIGTERM sent
// to this process alone is passed on.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
