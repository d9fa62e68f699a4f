// The e2e-floor's HTTP variant (bench/e2e-floor.ts): the least an HTTP API in front of the
// floor workflow can do, in a process of its own like the real API. Per request: a JSON
// body parsed, a JWT verified (HS256, verified tokens remembered, as api/plugins/auth.ts
// does), then one thing: start the floor workflow, send its Update, or read its row with
// one statement. No acting user read, no audit, no Prisma, no validation beyond the JSON:
// strictly less than any real API must do, so e2e through any API is slower than this.
// Env: TEMPORAL_ADDRESS, FLOOR_TASK_QUEUE, FLOOR_DATABASE_URL, FLOOR_JWT_SECRET. Prints
// its port on stdout.
import Fastify from 'fastify';
import jwt from '@fastify/jwt';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import { whenProcessGone } from '../../scripts/lib/node-process';
import { floorConfirm, type floorWorkflow } from '../baseline-workflows';

async function main(): Promise<void> {
  const taskQueue = process.env.FLOOR_TASK_QUEUE!;
  const temporal = new Client({ connection: await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! }) });
  const db = new Pool({ connectionString: process.env.FLOOR_DATABASE_URL, max: 10 });
  const app = Fastify({ logger: false });
  await app.register(jwt, { secret: process.env.FLOOR_JWT_SECRET!, verify: { algorithms: ['HS256'], cache: 10_000 } });
  app.addHook('onRequest', async (request) => {
    await request.jwtVerify();
  });
  app.post<{ Body: { id: string; decisionLocal: boolean } }>('/floor', async (request, reply) => {
    const { id, decisionLocal } = request.body;
    await temporal.workflow.start<typeof floorWorkflow>('floorWorkflow', { taskQueue, workflowId: `bench-floor-${id}`, args: [id, decisionLocal] });
    return reply.code(201).send({ id });
  });
  app.post<{ Params: { id: string }; Body: { value: string } }>('/floor/:id/confirm', async (request) => {
    const value = await temporal.workflow.getHandle(`bench-floor-${request.params.id}`).executeUpdate(floorConfirm, { args: [request.body.value] });
    return { id: request.params.id, value };
  });
  app.get<{ Params: { id: string } }>('/floor/:id', async (request, reply) => {
    const { rows } = await db.query<{ status: string }>('SELECT status FROM bench_floor WHERE id = $1', [request.params.id]);
    return rows[0] ? { id: request.params.id, status: rows[0].status } : reply.code(404).send({ id: request.params.id });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
  const stop = () =>
    void app
      .close()
      .then(() => Promise.allSettled([db.end(), temporal.connection.close()]))
      .then(() => process.exit(0));
  whenProcessGone(process.ppid, () => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
