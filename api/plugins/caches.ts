// The API's read cache (api/read-cache.ts) of GET /api/tasks bodies (routes/tasks.ts),
// invalidated by the change feed's ic_cache keys. READ_CACHE_TTL_MS=0 turns it off.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Invalidations, ReadCache } from '../read-cache';

export interface Caches {
  /** GET /api/tasks bodies (UTF-8, ready to send) by user and page; keys u:, e:, g:, G: (api/my-tasks.ts inboxKeys). */
  inboxes: ReadCache<Buffer>;
}

declare module 'fastify' {
  interface FastifyInstance {
    caches: Caches;
  }
}

export default fp(
  async function caches(fastify: FastifyInstance) {
    const { config } = fastify.deps;
    const ttlMs = config.READ_CACHE_TTL_MS ?? 1000;
    const maxBytes = (config.READ_CACHE_MB ?? 64) * 1024 * 1024;
    const invalidations = new Invalidations();
    const c: Caches = {
      inboxes: new ReadCache<Buffer>(invalidations, { ttlMs, maxBytes, sizeOf: (body) => body.length }),
    };
    fastify.decorate('caches', c);
    fastify.changeFeed.on('ic_cache', (key) => invalidations.invalidate(key));
    fastify.changeFeed.onGap((up) => {
      invalidations.listening = up;
      invalidations.invalidateAll();
    });
    // An action's own changes are seen by its actor's next read whatever the notification's
    // timing: their inbox is invalidated before the answer goes out.
    fastify.addHook('onSend', async (request) => {
      if (request.method !== 'GET' && request.method !== 'HEAD' && request.actor) invalidations.invalidate(`u:${request.actor.userId}`);
    });
  },
  { name: 'caches', dependencies: ['change-feed'] },
);
