// A benchmark's helper server (bench/lib/bare-server.ts, bench/lib/floor-http-server.ts) in a
// process of its own, as the API is: started with tsx, it prints its port on stdout.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './stack';

export interface HelperServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts `script` (relative to bench/lib) with `env` added, once it has printed its port. */
export async function startHelperServer(script: string, env: NodeJS.ProcessEnv): Promise<HelperServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, script)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (c) => reject(new Error(`${script} exited ${c}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}
