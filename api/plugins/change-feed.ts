// The database's change notifications, for the whole API process: one dedicated pg
// connection LISTENs on ic_events (live events for the web inbox, sent by the worker's
// persist: api/routes/events.ts) and ic_cache (keys whose cached reads are stale, sent by
// triggers: migration read_cache_invalidation, api/read-cache.ts). It opens when the server
// is ready, without holding startup up (the API starts while PostgreSQL is down), and
// re-opens after an error.
//
// One connection for both channels keeps their order: the notifications of a transaction
// arrive together, in the order it sent them, so a cached inbox is invalidated before the
// live event that makes the web inbox reload it.
//
// `up` is true only while LISTEN holds: notifications sent while the connection is down are
// lost, so the inbox cache serves nothing then, and drops everything when it comes back.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Client as PgClient } from 'pg';
import { pgPoolOf } from '../../prisma/client';

export const CHANNELS = ['ic_events', 'ic_cache'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface ChangeFeed {
  /** LISTEN holds: every change committed from now on will be heard. */
  readonly up: boolean;
  /** The PostgreSQL backend of the LISTEN connection while up (diagnostics, tests). */
  readonly backendPid: number | null;
  on(channel: Channel, fn: (payload: string) => void): void;
  /** Called when the feed goes down and when it comes back up (notifications may have been missed). */
  onGap(fn: (up: boolean) => void): void;
  /** Resolves when the feed is up (for tests and for the first request after start). */
  whenUp(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    changeFeed: ChangeFeed;
  }
}

const RETRY_MS = [250, 1000, 2000, 5000];

export default fp(
  async function changeFeed(fastify: FastifyInstance) {
    const connectionString = pgPoolOf(fastify.deps.prisma).options.connectionString;
    const handlers = new Map<Channel, Array<(payload: string) => void>>();
    const gapHandlers: Array<(up: boolean) => void> = [];
    let client: PgClient | null = null;
    let up = false;
    let closing = false;
    let attempt = 0;
    let retry: NodeJS.Timeout | null = null;
    let waiters: Array<() => void> = [];

    function setUp(value: boolean): void {
      if (up === value) return;
      up = value;
      for (const fn of gapHandlers) fn(value);
      if (value) {
        for (const w of waiters) w();
        waiters = [];
      }
    }

    function lost(c: PgClient, err?: Error): void {
      if (client !== c) return;
      client = null;
      setUp(false);
      void c.end().catch(() => {});
      if (closing) return;
      const delay = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)];
      attempt += 1;
      if (attempt === 1) fastify.log.warn({ err }, 'change feed: database connection lost; reconnecting');
      retry = setTimeout(connect, delay);
      retry.unref();
    }

    function connect(): void {
      retry = null;
      if (closing || client) return;
      const c = new PgClient({ connectionString, application_name: 'ic-confirm-changes' });
      client = c;
      c.on('notification', (msg) => {
        for (const fn of handlers.get(msg.channel as Channel) ?? []) {
          try {
            fn(msg.payload ?? '');
          } catch (err) {
            fastify.log.warn({ err, channel: msg.channel }, 'change feed: handler failed');
          }
        }
      });
      c.on('error', (err) => lost(c, err));
      c.on('end', () => lost(c));
      c.connect()
        .then(() => c.query(CHANNELS.map((ch) => `LISTEN ${ch}`).join('; ')))
        .then(() => {
          if (client !== c) return;
          if (attempt > 0) fastify.log.info('change feed: listening again');
          attempt = 0;
          setUp(true);
        })
        .catch((err: Error) => lost(c, err));
    }

    const feed: ChangeFeed = {
      get up() {
        return up;
      },
      get backendPid() {
        return up ? ((client as unknown as { processID?: number } | null)?.processID ?? null) : null;
      },
      on(channel, fn) {
        handlers.set(channel, [...(handlers.get(channel) ?? []), fn]);
      },
      onGap(fn) {
        gapHandlers.push(fn);
      },
      whenUp() {
        return up ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve));
      },
    };
    fastify.decorate('changeFeed', feed);

    fastify.addHook('onReady', async () => {
      connect();
    });
    fastify.addHook('preClose', async () => {
      closing = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = null;
      setUp(false);
      await c?.end().catch(() => {});
    });
  },
  { name: 'change-feed' },
);
