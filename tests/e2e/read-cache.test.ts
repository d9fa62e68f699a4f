// The API's read cache (api/read-cache.ts): GET /api/tasks is served from memory only while
// nothing it shows has changed (the acting user is still read on every request). The
// server here keeps entries for a minute (READ_CACHE_TTL_MS=60000), so every change seen
// below is seen through the invalidation the triggers send (migration
// read_cache_invalidation), never through expiry.
import crypto from 'node:crypto';
import pino from 'pino';
import { createSigner } from 'fast-jwt';
import type { FastifyInstance } from 'fastify';
import { buildServer, createTemporalClient } from '../../api/server';
import { createPrisma } from '../../prisma/client';
import { loadEnv, API_ENV } from '../../scripts/lib/config';
import { createFixture, insertTransfer, testPrisma, type Fixture } from '../helpers/fixtures';
import { sql } from '../helpers/db';
import { until } from '../helpers/wait';

const SECRET = 'c'.repeat(40);
const sign = (sub: string) => createSigner({ key: SECRET, algorithm: 'HS256', iss: 'ic-confirm', aud: 'ic-confirm-api', expiresIn: 600_000 })({ sub, name: 'x' });

interface Server {
  app: FastifyInstance;
  /** Where the change feed's ic_cache keys are now. */
  mark(): number;
  /** Resolves once the change feed has heard `key` after `mark` (the caches act on it before any later handler). */
  heard(key: string, mark: number): Promise<void>;
  inbox(userId: string, headers?: Record<string, string>): Promise<{ cache: string; items: Array<{ id: string; transfer: { memo: string | null } }>; total: number }>;
  close(): Promise<void>;
}

async function server(extra: Record<string, string> = {}): Promise<Server> {
  const config = loadEnv(API_ENV, {
    DATABASE_URL: process.env.TEST_DATABASE_URL!,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
    JWT_SECRET: SECRET,
    READ_CACHE_TTL_MS: '60000',
    ...extra,
  });
  const prisma = createPrisma(config.DATABASE_URL, { max: 3 });
  const temporal = createTemporalClient(config);
  const app = await buildServer(config, { prisma, temporal, logger: pino({ level: 'silent' }) });
  await app.ready();
  await app.changeFeed.whenUp();
  const keys: string[] = [];
  app.changeFeed.on('ic_cache', (k) => keys.push(k));
  return {
    app,
    mark: () => keys.length,
    heard: (key, mark) => until(async () => keys.indexOf(key, mark) >= 0, 10_000, 5).then(() => undefined),
    async inbox(userId, headers = {}) {
      const res = await app.inject({ method: 'GET', url: '/api/tasks', headers: { authorization: `Bearer ${sign(userId)}`, ...headers } });
      expect(res.statusCode).toBe(200);
      return { cache: String(res.headers['x-cache']), ...res.json() };
    },
    async close() {
      await app.close();
      await temporal.connection.close().catch(() => undefined);
      await prisma.$disconnect();
    },
  };
}

async function openTask(fx: Fixture, data: { candidateEntityId?: string; candidateRole?: 'ACCOUNTANT' | 'SUPERVISOR'; candidateGroupRole?: 'HQ_FINANCE'; assigneeId?: string }) {
  const t = await insertTransfer(fx, { dueInMs: 3_600_000 });
  const id = crypto.randomUUID();
  await testPrisma().task.create({
    data: { id, key: `read-cache-test:${id}`, transferId: t.id, kind: 'CONFIRM', dueAt: new Date(Date.now() + 3_600_000), ...data },
  });
  return { taskId: id, transferId: t.id };
}

/**
 * openTask, then waits until the server has heard the key the new task's insert sends: the
 * notifications of every earlier change (the fixture's rows) arrive before it, so a read
 * made after this is not dropped for a change that committed before it.
 */
async function openTaskHeard(s: Server, fx: Fixture, data: Parameters<typeof openTask>[1]) {
  const m = s.mark();
  const task = await openTask(fx, data);
  const key = data.assigneeId ? `u:${data.assigneeId}` : data.candidateGroupRole ? `g:${fx.groupId}:${data.candidateGroupRole}` : `e:${data.candidateEntityId}:${data.candidateRole}`;
  await s.heard(key, m);
  return task;
}

describe('the inbox read cache', () => {
  let s: Server;
  beforeAll(async () => {
    s = await server();
  });
  afterAll(async () => {
    await s.close();
  });

  it('serves a repeated inbox from memory, and a changed task, transfer or assignment at once', async () => {
    const fx = await createFixture();
    const acc = fx.users.receiverAcc.id;
    const first = await openTaskHeard(s, fx, { candidateEntityId: fx.receiver.id, candidateRole: 'ACCOUNTANT' });
    const a = await s.inbox(acc);
    expect(a.cache).toBe('miss');
    expect(a.items.map((i) => i.id)).toEqual([first.taskId]);
    const b = await s.inbox(acc);
    expect(b.cache).toBe('hit');
    expect(b).toEqual({ ...a, cache: 'hit' });
    // Cache-Control: no-cache reads through.
    expect((await s.inbox(acc, { 'cache-control': 'no-cache' })).cache).toBe('miss');

    // A new task offered to the user's entity and role.
    let m = s.mark();
    const second = await openTask(fx, { candidateEntityId: fx.receiver.id, candidateRole: 'ACCOUNTANT' });
    await s.heard(`e:${fx.receiver.id}:ACCOUNTANT`, m);
    const c = await s.inbox(acc);
    expect(c.cache).toBe('miss');
    expect(c.items.map((i) => i.id).sort()).toEqual([first.taskId, second.taskId].sort());
    expect((await s.inbox(acc)).cache).toBe('hit');

    // The transfer an item shows changes.
    await testPrisma().transfer.update({ where: { id: first.transferId }, data: { memo: 'changed under the cache' } });
    await until(async () => (await s.inbox(acc)).items.find((i) => i.id === first.taskId)?.transfer.memo === 'changed under the cache', 10_000, 5);

    // A task is done: it leaves the inbox.
    await testPrisma().task.update({ where: { id: second.taskId }, data: { status: 'DONE', outcome: 'CONFIRMED' } });
    await until(async () => (await s.inbox(acc)).items.every((i) => i.id !== second.taskId), 10_000, 5);

    // Assigned by name to the user (key u:<user>), then delegated away to a colleague.
    const named = await openTaskHeard(s, fx, { assigneeId: fx.users.receiverSup.id });
    const sup = await s.inbox(fx.users.receiverSup.id);
    expect(sup.items.map((i) => i.id)).toContain(named.taskId);
    const acc2 = fx.users.receiverAcc2.id;
    expect((await s.inbox(acc2)).items.map((i) => i.id)).not.toContain(named.taskId);
    expect((await s.inbox(acc2)).cache).toBe('hit');
    m = s.mark();
    await testPrisma().task.update({ where: { id: named.taskId }, data: { delegatedToId: acc2 } });
    await s.heard(`u:${acc2}`, m);
    const delegated = await s.inbox(acc2);
    expect(delegated.cache).toBe('miss');
    expect(delegated.items.map((i) => i.id)).toContain(named.taskId);
    // Offered to HQ finance in the group (key g:<group>:HQ_FINANCE).
    const hq = fx.users.hq.id;
    const before = await s.inbox(hq);
    expect((await s.inbox(hq)).cache).toBe('hit');
    m = s.mark();
    const arbitrate = await openTask(fx, { candidateGroupRole: 'HQ_FINANCE' });
    await s.heard(`g:${fx.groupId}:HQ_FINANCE`, m);
    const after = await s.inbox(hq);
    expect(after.cache).toBe('miss');
    expect(after.items.map((i) => i.id)).toEqual(expect.arrayContaining([arbitrate.taskId]));
    expect(after.total).toBe(before.total + 1);
    // Another group's change does not touch this inbox.
    const other = await createFixture();
    m = s.mark();
    await openTask(other, { candidateEntityId: other.receiver.id, candidateRole: 'ACCOUNTANT' });
    await s.heard(`e:${other.receiver.id}:ACCOUNTANT`, m);
    expect((await s.inbox(acc2)).cache).toBe('hit');
  });

  it('sees a changed membership, a disabled user and a renamed user or entity at once', async () => {
    const fx = await createFixture();
    const sup = fx.users.receiverSup.id;
    const task = await openTaskHeard(s, fx, { candidateEntityId: fx.receiver.id, candidateRole: 'SUPERVISOR' });
    expect((await s.inbox(sup)).items.map((i) => i.id)).toEqual([task.taskId]);
    expect((await s.inbox(sup)).cache).toBe('hit');

    // The supervisor loses the role: the acting user, read on every request, has other ways,
    // so the very next request reads another entry (no notification to wait for).
    await testPrisma().membership.delete({ where: { userId_entityId_role: { userId: sup, entityId: fx.receiver.id, role: 'SUPERVISOR' } } });
    const lost = await s.inbox(sup);
    expect(lost.cache).toBe('miss');
    expect(lost.items).toEqual([]);

    // A display name shown in items changes: the group's entries go (G:<group>).
    const acc = fx.users.receiverAcc.id;
    await openTaskHeard(s, fx, { candidateEntityId: fx.receiver.id, candidateRole: 'ACCOUNTANT' });
    await s.inbox(acc);
    expect((await s.inbox(acc)).cache).toBe('hit');
    let m = s.mark();
    await testPrisma().user.update({ where: { id: fx.users.senderAcc.id }, data: { displayName: `renamed ${fx.tag}` } });
    await s.heard(`G:${fx.groupId}`, m);
    expect((await s.inbox(acc)).cache).toBe('miss');
    expect((await s.inbox(acc)).cache).toBe('hit');
    // So does an entity's name.
    m = s.mark();
    await testPrisma().entity.update({ where: { id: fx.sender.id }, data: { name: `renamed ${fx.tag}` } });
    await s.heard(`G:${fx.groupId}`, m);
    expect((await s.inbox(acc)).cache).toBe('miss');

    // Disabled: the same token is refused by the very next request.
    expect((await s.inbox(acc)).cache).toBe('hit');
    await testPrisma().user.update({ where: { id: acc }, data: { active: false } });
    const res = await s.app.inject({ method: 'GET', url: '/api/tasks', headers: { authorization: `Bearer ${sign(acc)}` } });
    expect(res.statusCode).toBe(401);
  });

  it("invalidates the actor's own inbox when they act, whatever the notification's timing", async () => {
    const fx = await createFixture();
    const acc = fx.users.receiverAcc.id;
    await openTaskHeard(s, fx, { candidateEntityId: fx.receiver.id, candidateRole: 'ACCOUNTANT' });
    await s.inbox(acc);
    expect((await s.inbox(acc)).cache).toBe('hit');
    // Any request that may change something (here one that fails) ends the actor's entries.
    const res = await s.app.inject({ method: 'POST', url: `/api/tasks/${crypto.randomUUID()}/approve`, headers: { authorization: `Bearer ${sign(acc)}` }, payload: {} });
    expect(res.statusCode).toBe(404);
    expect((await s.inbox(acc)).cache).toBe('miss');
    // Someone else's action does not.
    expect((await s.inbox(acc)).cache).toBe('hit');
    await s.app.inject({ method: 'POST', url: `/api/tasks/${crypto.randomUUID()}/approve`, headers: { authorization: `Bearer ${sign(fx.users.receiverSup.id)}` }, payload: {} });
    expect((await s.inbox(acc)).cache).toBe('hit');
  });

  it('serves nothing while the change feed is down, and nothing from before the gap once it is back', async () => {
    const fx = await createFixture();
    const acc = fx.users.receiverAcc.id;
    const task = await openTaskHeard(s, fx, { candidateEntityId: fx.receiver.id, candidateRole: 'ACCOUNTANT' });
    await s.inbox(acc);
    expect((await s.inbox(acc)).cache).toBe('hit');
    // Cut the feed's connection (as a database restart would).
    const pid = s.app.changeFeed.backendPid;
    expect(pid).toEqual(expect.any(Number));
    await sql('SELECT pg_terminate_backend($1)', [pid]);
    await until(async () => !s.app.changeFeed.up, 10_000, 5);
    // A change made while nobody listens.
    await testPrisma().task.update({ where: { id: task.taskId }, data: { status: 'DONE', outcome: 'CONFIRMED' } });
    const during = await s.inbox(acc);
    expect(during.cache).toBe('miss');
    expect(during.items).toEqual([]);
    await s.app.changeFeed.whenUp();
    const after = await s.inbox(acc);
    expect(after.cache).toBe('miss');
    expect(after.items).toEqual([]);
    expect((await s.inbox(acc)).cache).toBe('hit');
  });

  it('is off with READ_CACHE_TTL_MS=0', async () => {
    const off = await server({ READ_CACHE_TTL_MS: '0' });
    try {
      const fx = await createFixture();
      await openTask(fx, { candidateEntityId: fx.receiver.id, candidateRole: 'ACCOUNTANT' });
      expect((await off.inbox(fx.users.receiverAcc.id)).cache).toBe('miss');
      expect((await off.inbox(fx.users.receiverAcc.id)).cache).toBe('miss');
      expect(off.app.caches.inboxes.size).toBe(0);
    } finally {
      await off.close();
    }
  });
});
