// GET /api/events: live updates for the web inbox as server-sent events
// (text/event-stream), authenticated by the usual Authorization header (the browser
// reads it with fetch, since EventSource cannot send headers).
//
// How events travel across processes: the worker's `persist` activity runs
// `pg_notify('ic_events', '{"type":"task","transferId":…}')` in the transaction that
// writes tasks (activities/index.ts), so the event exists only if the change committed.
// The API's change feed (plugins/change-feed.ts: one LISTEN connection per process, which
// also invalidates the inbox cache first) hands every event to this plugin, which fans it
// out to the connected streams of users who may see the transfer (the scope of GET
// /api/transfers: parties' members, HQ of the group). Events carry only ids and a type;
// the inbox then reloads GET /api/tasks, which is scoped per user. A comment line every
// 25 s keeps proxies from timing the stream out. Streams are ended before the server closes.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { AuthUser } from '../plugins/auth';
import { errors } from '../schemas';
import { Type } from '@sinclair/typebox';

const HEARTBEAT_MS = 25_000;

interface Stream {
  actor: AuthUser;
  reply: FastifyReply;
}

const events: FastifyPluginAsync = async (fastify) => {
  const { prisma } = fastify.deps;
  const streams = new Set<Stream>();

  function write(s: Stream, chunk: string): void {
    if (!s.reply.raw.writableEnded) s.reply.raw.write(chunk);
  }

  async function fanOut(payload: string): Promise<void> {
    if (streams.size === 0) return;
    let event: { type?: string; transferId?: string };
    try {
      event = JSON.parse(payload || '{}');
    } catch {
      return;
    }
    if (!event.transferId) return;
    const t = await prisma.transfer.findUnique({
      where: { id: event.transferId },
      select: { senderEntityId: true, receiverEntityId: true, senderEntity: { select: { groupId: true } } },
    });
    if (!t) return;
    const data = `data: ${JSON.stringify({ type: event.type ?? 'task', transferId: event.transferId })}\n\n`;
    for (const s of streams) {
      const a = s.actor;
      const visible = a.groupRole
        ? a.groupIds.includes(t.senderEntity.groupId)
        : a.memberships.some((m) => m.entityId === t.senderEntityId || m.entityId === t.receiverEntityId);
      if (visible) write(s, data);
    }
  }

  fastify.changeFeed.on('ic_events', (payload) => void fanOut(payload).catch((err) => fastify.log.warn({ err }, 'live event not delivered')));

  const heartbeat = setInterval(() => streams.forEach((s) => write(s, ': ping\n\n')), HEARTBEAT_MS);
  heartbeat.unref();

  fastify.addHook('preClose', async () => {
    clearInterval(heartbeat);
    for (const s of streams) s.reply.raw.end();
    streams.clear();
  });

  fastify.get(
    '/events',
    {
      onRequest: [fastify.authenticate],
      // A stream that never ends: the schemathesis fuzz test leaves it out (--exclude-path).
      schema: {
        tags: ['auth'],
        summary: 'live updates (server-sent events): `data: {"type":"task","transferId":…}` when tasks of a transfer you may see change',
        produces: ['text/event-stream'],
        response: { 200: Type.String({ description: 'text/event-stream' }), ...errors(401) },
      },
    },
    async (request, reply) => {
      // Events from the hello on are delivered (unless the database is down: then sooner).
      await Promise.race([fastify.changeFeed.whenUp(), new Promise((r) => setTimeout(r, 2000).unref())]);
      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': String(request.id),
      });
      const s: Stream = { actor: request.actor, reply };
      streams.add(s);
      reply.raw.write(`retry: 3000\ndata: ${JSON.stringify({ type: 'hello' })}\n\n`);
      request.raw.on('close', () => streams.delete(s));
    },
  );
};

export default events;
