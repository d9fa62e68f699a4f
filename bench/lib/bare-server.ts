// The inbox baseline: a bare Fastify route on the same machine, in a process of its own
// like the API, answering GET /api/tasks with a fixed body of the real answer's size
// (BARE_BODY_FILE) and doing nothing else. The body is read as bytes and sent as they are
// (a string would be encoded to UTF-8 on every request, a cost the API's cached answers do
// not pay either). Prints its port on stdout.
import fs from 'node:fs';
import Fastify from 'fastify';
import { whenProcessGone } from '../../scripts/lib/node-process';

async function main(): Promise<void> {
  const body = fs.readFileSync(process.env.BARE_BODY_FILE!);
  const app = Fastify({ logger: false });
  app.get('/api/tasks', async (_request, reply) => reply.header('content-type', 'application/json; charset=utf-8').send(body));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
  // Gone with the bench process, however it ended.
  whenProcessGone(process.ppid, () => process.exit(0));
  const stop = () => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
