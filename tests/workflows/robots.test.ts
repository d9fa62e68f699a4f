// Robot delivery on the time-skipping test server: the real dispatcher, the real robot
// workflow and activities, real HTTP to the local WeCom / DingTalk receiver
// (tests/helpers/robot-receiver.ts).
//
// These tests use a private database (created from the migrations, dropped at the end):
// the test stack's worker runs its own dispatcher on the shared database, and would
// otherwise pick up these events and deliver them from the dev server in real time.
//
// Time: the receiver counts "20 per minute" on the test server's clock (the clock the
// workflows wait on), so the assertion "no robot ever gets more than 20 requests in any
// 60-second window" is checked on the same time line the sender limits itself on, while
// the test server skips the waits. DingTalk's timestamp window is checked against the
// real wall clock, which is what the sender signs with.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { migrationNames } from '../../prisma/migrate';
import { createRobotActivities } from '../../activities/robots/activities';
import { dispatchOnce, sweepOnce } from '../../activities/robots/dispatcher';
import { robotKey } from '../../activities/robots/vendor';
import { robotWorkflowId, type RobotWorkflowInput } from '../../workflows/robot';
import { createFixture, uid, type Fixture } from '../helpers/fixtures';
import { timeSkipping, until } from '../helpers/temporal';
import { RobotReceiver, type ReceivedRequest } from '../helpers/robot-receiver';

jest.setTimeout(240_000);

const ROOT = path.join(__dirname, '..', '..');
const PUBLIC_URL = 'https://ic.example.com';

let env: TestWorkflowEnvironment;
let db: { prisma: PrismaClient; drop(): Promise<void> };
let receiver: RobotReceiver;

/** A database of our own, built from prisma/migrations. */
async function privateDatabase() {
  const owner = process.env.TEST_OWNER_DATABASE_URL;
  if (!owner) throw new Error('TEST_OWNER_DATABASE_URL is not set: run the tests through jest (tests/global-setup.ts)');
  const name = `robots_${uid(6).toLowerCase()}`;
  const admin = async (sql: string) => {
    const c = new PgClient({ connectionString: owner });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(owner);
  url.pathname = `/${name}`;
  const c = new PgClient({ connectionString: url.toString() });
  await c.connect();
  try {
    for (const m of migrationNames()) await c.query(fs.readFileSync(path.join(ROOT, 'prisma', 'migrations', m, 'migration.sql'), 'utf8'));
  } finally {
    await c.end();
  }
  const prisma = createPrisma(url.toString(), { max: 8 });
  return {
    prisma,
    async drop() {
      await prisma.$disconnect();
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

beforeAll(async () => {
  env = await timeSkipping();
  db = await privateDatabase();
  receiver = await RobotReceiver.start({ clock: () => env.currentTimeMs() });
}, 120_000);

afterAll(async () => {
  await receiver?.close();
  await db?.drop();
  await env?.teardown();
});

const prisma = () => db.prisma;
const hex = (n: number) => crypto.randomBytes(n).toString('hex');

async function robotWorker(opts: { taskQueue?: string; httpTimeoutMs?: number; noCache?: boolean } = {}) {
  const taskQueue = opts.taskQueue ?? `robots-${uid()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
    activities: createRobotActivities({ prisma: prisma(), publicUrl: PUBLIC_URL, httpTimeoutMs: opts.httpTimeoutMs ?? 2_000 }),
    ...(opts.noCache ? { maxCachedWorkflows: 0 } : {}),
  });
  return { worker, taskQueue };
}

async function addChannel(
  fx: Fixture,
  entityId: string,
  kind: 'WECOM' | 'DINGTALK',
  webhookUrl: string,
  extra: { secret?: string; keywords?: string[]; language?: 'zh' | 'en'; name?: string } = {},
) {
  return prisma().channel.create({
    data: {
      groupId: fx.groupId,
      entityId,
      kind,
      name: extra.name ?? `${kind.toLowerCase()}-${uid()}`,
      webhookUrl,
      robotKey: robotKey(webhookUrl, kind),
      secret: extra.secret ?? null,
      keywords: extra.keywords ?? [],
      language: extra.language ?? 'zh',
    },
  });
}

interface Made {
  transferId: string;
  ref: string;
  eventId: string;
}

/** `n` transfers from sender to receiver, one notification event each (as `persist` writes them). */
async function makeEvents(fx: Fixture, n: number, opts: { kind?: string; entityId?: string; payload?: (dueAt: Date) => Record<string, unknown> } = {}): Promise<Made[]> {
  const now = await env.currentTimeMs();
  const dueAt = new Date(now + 48 * 3600_000);
  const rows = Array.from({ length: n }, () => {
    const ref = `INV-${uid(5)}`;
    return {
      id: crypto.randomUUID(),
      workflowId: `transfer:${fx.sender.code}:${ref}`,
      senderEntityId: fx.sender.id,
      receiverEntityId: fx.receiver.id,
      type: 'GOODS' as const,
      externalRef: ref,
      quantity: '10',
      unit: 'PCS',
      unitPrice: '800',
      amount: '8000.00',
      currency: 'CNY',
      documentDate: new Date('2026-11-20T00:00:00Z'),
      period: '2026-11',
      createdById: fx.users.senderAcc.id,
      dueAt,
    };
  });
  await prisma().transfer.createMany({ data: rows });
  const events = rows.map((t) => ({
    id: crypto.randomUUID(),
    key: `${t.workflowId}:1:n0`,
    kind: opts.kind ?? 'TASK_ASSIGNED',
    transferId: t.id,
    entityId: opts.entityId ?? fx.receiver.id,
    recipients: [],
    payload: (opts.payload ?? ((d: Date) => ({ taskIds: [], dueAt: d.toISOString(), escalationLevel: 0, candidates: [{ entityId: fx.receiver.id, role: 'ACCOUNTANT' }] })))(dueAt) as object,
  }));
  await prisma().notificationEvent.createMany({ data: events });
  return rows.map((t, i) => ({ transferId: t.id, ref: t.externalRef, eventId: events[i].id }));
}

async function dispatchAll(taskQueue: string, robotDefaults?: Partial<RobotWorkflowInput>, client: Client = env.client): Promise<number> {
  let total = 0;
  for (;;) {
    const r = await dispatchOnce({ prisma: prisma(), client, taskQueue, robotDefaults });
    total += r.deliveries;
    if (r.events === 0) return total;
  }
}

/** Waits (skipping time) until each robot's workflow has delivered everything and gone idle. */
async function settled(...channelIds: string[]): Promise<void> {
  try {
    // One at a time: each result() unlocks time skipping once (the test server counts locks).
    for (const id of channelIds) await env.client.workflow.getHandle(robotWorkflowId(id)).result();
  } catch (err) {
    for (const id of channelIds) {
      const h = await env.client.workflow.getHandle(robotWorkflowId(id)).fetchHistory();
      console.log(id, h.events!.map((e) => `${e.eventId} ${Number(e.eventTime!.seconds)} ${String(e.eventType)} ${JSON.stringify(e.workflowExecutionStartedEventAttributes?.workflowExecutionTimeout ?? e.activityTaskTimedOutEventAttributes ?? e.timerStartedEventAttributes?.startToFireTimeout ?? '')}`).join('\n'));
    }
    throw err;
  }
}

/** Document numbers a message names (a single message names its transfer in the title and the heading). */
const refsIn = (r: ReceivedRequest) => [...new Set(r.text.match(/INV-[0-9A-F]{10}/g) ?? [])];

/** Every event of `made` is in exactly one message the robot accepted, and the database agrees on which. */
async function expectEachDeliveredOnce(robot: string, channelId: string, made: Made[]): Promise<ReceivedRequest[]> {
  const delivered = receiver.delivered(robot);
  const seen = new Map<string, number>();
  for (const r of delivered) for (const ref of refsIn(r)) seen.set(ref, (seen.get(ref) ?? 0) + 1);
  const counts = made.map((m) => seen.get(m.ref) ?? 0);
  expect(counts.filter((c) => c === 0).length).toBe(0); // nothing lost
  expect(counts.filter((c) => c > 1).length).toBe(0); // nothing twice
  const deliveries = await prisma().delivery.findMany({ where: { channelId, eventId: { in: made.map((m) => m.eventId) } } });
  expect(deliveries).toHaveLength(made.length);
  expect(deliveries.every((d) => d.status === 'SENT' && d.sentAt !== null)).toBe(true);
  const byMessage = new Map(delivered.map((r) => [r.messageId, r]));
  const refOf = new Map(made.map((m) => [m.eventId, m.ref]));
  for (const d of deliveries) expect(refsIn(byMessage.get(d.messageId)!)).toContain(refOf.get(d.eventId));
  return delivered;
}

describe('robot messages', () => {
  it('a signed DingTalk message verifies; messages say what happened, the parties, amount, period, time left and link; escalations @-mention by mobile', async () => {
    const fx = await createFixture(prisma());
    await prisma().user.update({ where: { id: fx.users.receiverSup.id }, data: { mobile: '13800138000' } });
    const secret = `SEC${hex(32)}`;
    const token = hex(16);
    const dt = await addChannel(fx, fx.receiver.id, 'DINGTALK', receiver.addDingTalk(token, { secret, keywords: ['内部往来'] }), { secret, keywords: ['内部往来'] });
    const key = hex(12);
    const wc = await addChannel(fx, fx.receiver.id, 'WECOM', receiver.addWeCom(key), { language: 'en' });
    const { worker, taskQueue } = await robotWorker();
    await worker.runUntil(async () => {
      const [assigned] = await makeEvents(fx, 1);
      const [escalated] = await makeEvents(fx, 1, {
        kind: 'ESCALATED',
        payload: (d) => ({ taskIds: [], dueAt: new Date(d.getTime() - 50 * 3600_000).toISOString(), escalationLevel: 1, candidates: [{ entityId: fx.receiver.id, role: 'SUPERVISOR' }] }),
      });
      expect(await dispatchAll(taskQueue)).toBe(4);
      await settled(dt.id, wc.id);

      const dtMsgs = receiver.requests(token);
      expect(dtMsgs.map((r) => [r.errcode, r.signed])).toEqual([
        [0, true],
        [0, true],
      ]);
      const one = dtMsgs.find((r) => r.text.includes(assigned.ref))!;
      expect(one.body.msgtype).toBe('markdown');
      for (const s of ['【待确认】', fx.sender.code, fx.receiver.code, '8,000.00 CNY', '2026-11', '剩余 47 小时', `${PUBLIC_URL}/#/transfers/${assigned.transferId}`, '内部往来', '货物']) {
        expect(one.text).toContain(s);
      }
      const esc = dtMsgs.find((r) => r.text.includes(escalated.ref))!;
      expect(esc.text).toContain('【已升级】');
      expect(esc.text).toContain('已逾期 2 小时');
      expect(esc.text).toContain('@13800138000');
      expect(esc.mentions).toEqual(['13800138000']);

      const wcMsgs = receiver.delivered(key);
      expect(wcMsgs).toHaveLength(2);
      const en = wcMsgs.find((r) => r.text.includes(assigned.ref))!;
      expect(en.body.msgtype).toBe('markdown');
      for (const s of ['To confirm', 'Amount: 8,000.00 CNY', 'Period: 2026-11', '47 h', 'left', 'Open in the inbox']) expect(en.text).toContain(s);
      // WeCom markdown cannot @-mention by mobile: the escalation goes as text with mentioned_mobile_list.
      const enEsc = wcMsgs.find((r) => r.text.includes(escalated.ref))!;
      expect(enEsc.body.msgtype).toBe('text');
      expect(enEsc.body.text.mentioned_mobile_list).toEqual(['13800138000']);
      expect(enEsc.text).toContain('overdue by 2 h');

      await expectEachDeliveredOnce(token, dt.id, [assigned, escalated]);
      const rows = await prisma().delivery.findMany({ where: { channelId: { in: [dt.id, wc.id] } } });
      expect(rows.map((d) => d.attempts)).toEqual([1, 1, 1, 1]);
      expect((await prisma().notificationEvent.findUniqueOrThrow({ where: { id: assigned.eventId } })).status).toBe('DISPATCHED');
    });
  });

  it('a wrong secret: the deliveries fail with the reason and HQ is told through its own channel, once', async () => {
    const fx = await createFixture(prisma());
    const token = hex(16);
    const dt = await addChannel(fx, fx.receiver.id, 'DINGTALK', receiver.addDingTalk(token, { secret: `SEC${hex(32)}` }), { secret: `SEC${hex(32)}`, name: '深圳财务群' });
    const hqKey = hex(12);
    const hqChannel = await addChannel(fx, fx.hq.id, 'WECOM', receiver.addWeCom(hqKey));
    const { worker, taskQueue } = await robotWorker();
    await worker.runUntil(async () => {
      const made = await makeEvents(fx, 3);
      await dispatchAll(taskQueue);
      await settled(dt.id);
      const failed = await prisma().delivery.findMany({ where: { channelId: dt.id } });
      expect(failed.map((d) => d.status)).toEqual(['FAILED', 'FAILED', 'FAILED']);
      expect(failed.every((d) => /errcode 310000: sign not match/.test(d.lastError ?? ''))).toBe(true);
      // One request was refused; the robot is unusable, so the rest failed without another request.
      expect(receiver.requests(token).map((r) => r.errcode)).toEqual([310000]);
      expect(receiver.delivered(token)).toHaveLength(0);

      const notices = await prisma().notificationEvent.findMany({ where: { kind: 'ROBOT_FAILED', entityId: fx.hq.id } });
      expect(notices).toHaveLength(1);
      expect(notices[0].payload).toMatchObject({ channelId: dt.id, channelName: '深圳财务群', entityCode: fx.receiver.code, failedEvents: 3 });

      // A later event to the same broken robot fails too, without a second notice this hour.
      const later = await makeEvents(fx, 1);
      await dispatchAll(taskQueue);
      await settled(dt.id, hqChannel.id);
      expect((await prisma().delivery.findFirstOrThrow({ where: { eventId: later[0].eventId } })).status).toBe('FAILED');
      expect(await prisma().notificationEvent.count({ where: { kind: 'ROBOT_FAILED', entityId: fx.hq.id } })).toBe(1);

      const told = receiver.delivered(hqKey);
      expect(told).toHaveLength(1);
      for (const s of ['机器人发送失败', '深圳财务群', fx.receiver.code, '310000', '3 条通知未送达']) expect(told[0].text).toContain(s);
      expect(made).toHaveLength(3);
    });
  });

  it("HQ's own robot failing does not notify itself in a loop", async () => {
    const fx = await createFixture(prisma());
    const broken = await addChannel(fx, fx.hq.id, 'WECOM', `${receiver.base}/cgi-bin/webhook/send?key=${hex(12)}`); // unknown key: errcode 93000
    const { worker, taskQueue } = await robotWorker();
    await worker.runUntil(async () => {
      await makeEvents(fx, 1, { kind: 'ARBITRATION_REQUIRED', entityId: fx.hq.id });
      await dispatchAll(taskQueue);
      await settled(broken.id);
      expect((await prisma().delivery.findFirstOrThrow({ where: { channelId: broken.id } })).lastError).toMatch(/errcode 93000/);
      const notice = await prisma().notificationEvent.findFirstOrThrow({ where: { kind: 'ROBOT_FAILED', entityId: fx.hq.id } });
      await dispatchAll(taskQueue);
      // The notice about HQ's robot is not sent to that robot: no delivery, nothing more.
      expect(await prisma().delivery.count({ where: { eventId: notice.id } })).toBe(0);
      expect(await prisma().notificationEvent.count({ where: { kind: 'ROBOT_FAILED', entityId: fx.hq.id } })).toBe(1);
    });
  });
});

describe('rate limits and digests', () => {
  it('a burst of 500 events for one entity within a minute: every event in exactly one delivered message, never more than 20 requests a minute per robot, nothing waits much more than a minute', async () => {
    const fx = await createFixture(prisma());
    const secret = `SEC${hex(32)}`;
    const token = hex(16);
    const dt = await addChannel(fx, fx.receiver.id, 'DINGTALK', receiver.addDingTalk(token, { secret, keywords: ['内部往来'] }), { secret, keywords: ['内部往来'] });
    const key = hex(12);
    const wc = await addChannel(fx, fx.receiver.id, 'WECOM', receiver.addWeCom(key));
    const { worker, taskQueue } = await robotWorker();
    const made: Made[] = [];
    const dispatchedAt = new Map<string, number>();
    await worker.runUntil(async () => {
      // Five waves of 100, ten seconds apart (test-server time).
      for (let wave = 0; wave < 5; wave++) {
        const batch = await makeEvents(fx, 100);
        const at = await env.currentTimeMs();
        await dispatchAll(taskQueue);
        for (const m of batch) dispatchedAt.set(m.ref, at);
        made.push(...batch);
        if (wave < 4) await env.sleep('10 seconds');
      }
      await settled(dt.id, wc.id);
    });

    // A DingTalk digest holds up to 100 events (20,000 bytes), a WeCom one about 20 (4,096
    // bytes): 2,000 and 400 events a minute. Here both drain within about a minute (the
    // last wave waits for the first wave's 20 messages to leave the window); WeCom is
    // given a second window of slack, its digest size depends on the names' lengths.
    for (const [robot, channelId, maxWaitMs] of [
      [token, dt.id, 65_000],
      [key, wc.id, 125_000],
    ] as const) {
      const requests = receiver.requests(robot);
      // The sender kept the budget: the receiver never had to refuse anything.
      expect(requests.filter((r) => r.errcode !== 0)).toEqual([]);
      expect(receiver.maxInWindow(robot)).toBeLessThanOrEqual(20);
      const delivered = await expectEachDeliveredOnce(robot, channelId, made);
      // Digests: far fewer messages than events.
      expect(delivered.length).toBeLessThan(60);
      expect(delivered.some((r) => refsIn(r).length > 1)).toBe(true);
      const waits = delivered.flatMap((r) => refsIn(r).map((ref) => r.at - dispatchedAt.get(ref)!));
      expect(Math.max(...waits)).toBeLessThanOrEqual(maxWaitMs);
    }
    // DingTalk digests stay under 20,000 bytes, WeCom's under 4,096.
    expect(Math.max(...receiver.delivered(token).map((r) => Buffer.byteLength(r.body.markdown.text)))).toBeLessThanOrEqual(20_000);
    expect(Math.max(...receiver.delivered(key).map((r) => Buffer.byteLength(r.body.markdown.content)))).toBeLessThanOrEqual(4_096);
  });

  it('the receiver down for a while: deliveries wait with back-off and all arrive once it is back', async () => {
    const down = await RobotReceiver.start({ clock: () => env.currentTimeMs() });
    try {
      const fx = await createFixture(prisma());
      const key = hex(12);
      const wc = await addChannel(fx, fx.receiver.id, 'WECOM', down.addWeCom(key));
      await down.stop();
      const { worker, taskQueue } = await robotWorker();
      await worker.runUntil(async () => {
        const made = await makeEvents(fx, 30);
        await dispatchAll(taskQueue);
        await env.sleep('3 minutes');
        const waiting = await prisma().delivery.findMany({ where: { channelId: wc.id } });
        expect(waiting.every((d) => d.status === 'PENDING')).toBe(true);
        expect(Math.max(...waiting.map((d) => d.attempts))).toBeGreaterThanOrEqual(3);
        expect(waiting.find((d) => d.attempts > 0)?.lastError).toMatch(/network error|ECONNREFUSED/);
        await down.restart();
        await settled(wc.id);
        const got = down.delivered(key);
        const refs = got.flatMap(refsIn);
        expect(refs.sort()).toEqual(made.map((m) => m.ref).sort());
        expect((await prisma().delivery.findMany({ where: { channelId: wc.id } })).every((d) => d.status === 'SENT')).toBe(true);
      });
    } finally {
      await down.close();
    }
  });

  it.each([
    ['HTTP 429', '429', 60_000],
    ['HTTP 500', '500', 1_000],
    ['no answer (timeout)', 'timeout', 1_000],
    ['errcode 130101 (then a 10-minute block)', '130101', 10 * 60_000],
  ] as const)('%s: waits as the vendor asks, then delivers everything once', async (_name, mode, minGapMs) => {
    const fx = await createFixture(prisma());
    const token = hex(16);
    const dt = await addChannel(fx, fx.receiver.id, 'DINGTALK', receiver.addDingTalk(token));
    receiver.failNext(token, mode, 2);
    const { worker, taskQueue } = await robotWorker({ httpTimeoutMs: 1_000 });
    await worker.runUntil(async () => {
      const made = await makeEvents(fx, 3);
      await dispatchAll(taskQueue);
      await settled(dt.id);
      const requests = receiver.requests(token);
      expect(requests.filter((r) => !r.accepted)).toHaveLength(2);
      await expectEachDeliveredOnce(token, dt.id, made);
      // The gap after each refusal is at least what the vendor asked for.
      for (let i = 0; i < requests.length - 1; i++) if (!requests[i].accepted) expect(requests[i + 1].at - requests[i].at).toBeGreaterThanOrEqual(minGapMs * 0.5);
      if (mode === '130101') {
        expect(requests[1].at - requests[0].at).toBeGreaterThanOrEqual(10 * 60_000);
        expect(requests.slice(2).every((r) => r.errcode === 0)).toBe(true);
      }
      const attempts = (await prisma().delivery.findMany({ where: { channelId: dt.id } })).map((d) => d.attempts);
      expect(Math.max(...attempts)).toBe(3);
    });
  });
});

describe('crashes and restarts', () => {
  it('a worker restart in the middle of a burst loses and duplicates nothing (continue-as-new included)', async () => {
    const fx = await createFixture(prisma());
    const token = hex(16);
    const dt = await addChannel(fx, fx.receiver.id, 'DINGTALK', receiver.addDingTalk(token, { keywords: ['往来'] }), { keywords: ['往来'] });
    const defaults = { maxSendsPerRun: 4 };
    // No workflow cache: the test server never moves a dead worker's sticky tasks back to
    // the shared queue (the real server does after a few seconds); every task replays.
    const first = await robotWorker({ noCache: true });
    const made: Made[] = [];
    await first.worker.runUntil(async () => {
      made.push(...(await makeEvents(fx, 300)));
      await dispatchAll(first.taskQueue, defaults);
      await until(async () => receiver.delivered(token).length >= 5, 30_000);
    });
    // The worker is gone mid-burst; more events come in meanwhile.
    const sentBefore = receiver.delivered(token).length;
    made.push(...(await makeEvents(fx, 100)));
    await dispatchAll(first.taskQueue, defaults);
    const second = await robotWorker({ taskQueue: first.taskQueue, noCache: true });
    await second.worker.runUntil(settled(dt.id));

    expect(sentBefore).toBeGreaterThanOrEqual(5);
    expect(receiver.requests(token).every((r) => r.errcode === 0)).toBe(true);
    expect(receiver.maxInWindow(token)).toBeLessThanOrEqual(20);
    await expectEachDeliveredOnce(token, dt.id, made);
    // History stayed small: the robot continued as new every few sends (4 here).
    const last = await env.client.workflow.getHandle(robotWorkflowId(dt.id)).describe();
    expect(receiver.requests(token).length).toBeGreaterThan(8);
    expect(last.historyLength).toBeLessThan(80);
  });

  it('the dispatcher dying between its commit and the signal: the sweep finds the deliveries; a send attempt lost mid-request is sent again', async () => {
    const fx = await createFixture(prisma());
    const key = hex(12);
    const wc = await addChannel(fx, fx.receiver.id, 'WECOM', receiver.addWeCom(key));
    const { worker, taskQueue } = await robotWorker();
    await worker.runUntil(async () => {
      const made = await makeEvents(fx, 5);
      const temporalDown = { workflow: { signalWithStart: async () => Promise.reject(new Error('UNAVAILABLE')) } } as unknown as Client;
      expect(await dispatchAll(taskQueue, undefined, temporalDown)).toBe(5);
      const stuck = await prisma().delivery.findMany({ where: { channelId: wc.id } });
      expect(stuck.map((d) => d.status)).toEqual(Array(5).fill('PENDING'));
      await expect(env.client.workflow.getHandle(robotWorkflowId(wc.id)).describe()).rejects.toThrow();
      // One of them was claimed by an attempt that died long ago.
      await prisma().$executeRaw`UPDATE "Delivery" SET status = 'SENDING', "messageId" = ${crypto.randomUUID()}::uuid, "updatedAt" = now() - interval '1 hour' WHERE id = ${stuck[0].id}::uuid`;

      const swept = await sweepOnce({ prisma: prisma(), client: env.client, taskQueue }, { pendingOlderThanMs: 0 });
      expect(swept.reset).toBe(1);
      expect(swept.robots).toBeGreaterThanOrEqual(1);
      await settled(wc.id);
      await expectEachDeliveredOnce(key, wc.id, made);
    });
  });

  it('the send activity is idempotent: a retry after a sent message sends nothing; a retry after a lost attempt sends; a running attempt is not overtaken', async () => {
    const fx = await createFixture(prisma());
    const key = hex(12);
    const wc = await addChannel(fx, fx.receiver.id, 'WECOM', receiver.addWeCom(key));
    const noSignal = { workflow: { signalWithStart: async () => undefined } } as unknown as Client;
    const acts = createRobotActivities({ prisma: prisma(), publicUrl: PUBLIC_URL, httpTimeoutMs: 2_000, inFlightMs: 60_000 });
    const made = await makeEvents(fx, 6);
    await dispatchAll('unused', undefined, noSignal);
    const rows = await prisma().delivery.findMany({ where: { channelId: wc.id }, orderBy: { id: 'asc' } });
    const ids = rows.map((d) => d.id);
    const refOf = new Map(made.map((m) => [m.eventId, m.ref]));

    const m1 = crypto.randomUUID();
    const a = await acts.sendRobotMessage({ channelId: wc.id, messageId: m1, deliveryIds: ids.slice(0, 2) });
    expect(a).toMatchObject({ outcome: 'sent', requested: true });
    expect(a.sent.sort()).toEqual(ids.slice(0, 2).sort());
    // Temporal retries the same activity (its completion was lost): same answer, no request.
    const again = await acts.sendRobotMessage({ channelId: wc.id, messageId: m1, deliveryIds: ids.slice(0, 2) });
    expect(again).toMatchObject({ outcome: 'sent' });
    expect(receiver.requests(key)).toHaveLength(1);

    // An attempt claimed two deliveries and died before the request: its retry sends them.
    const m2 = crypto.randomUUID();
    await prisma().$executeRaw`UPDATE "Delivery" SET status = 'SENDING', "messageId" = ${m2}::uuid, "updatedAt" = now() - interval '5 minutes' WHERE id IN (${ids[2]}::uuid, ${ids[3]}::uuid)`;
    expect(await acts.sendRobotMessage({ channelId: wc.id, messageId: m2, deliveryIds: [ids[2], ids[3]] })).toMatchObject({ outcome: 'sent' });
    expect(receiver.requests(key)).toHaveLength(2);

    // An attempt that claimed them a moment ago may still be talking to the vendor: wait.
    const m3 = crypto.randomUUID();
    await prisma().$executeRaw`UPDATE "Delivery" SET status = 'SENDING', "messageId" = ${m3}::uuid, "updatedAt" = now() WHERE id IN (${ids[4]}::uuid, ${ids[5]}::uuid)`;
    await expect(acts.sendRobotMessage({ channelId: wc.id, messageId: m3, deliveryIds: [ids[4], ids[5]] })).rejects.toMatchObject({ type: 'MessageInFlight' });
    // ...and another message cannot take them.
    expect(await acts.sendRobotMessage({ channelId: wc.id, messageId: crypto.randomUUID(), deliveryIds: [ids[4], ids[5]] })).toMatchObject({ outcome: 'nothing', requested: false });
    expect(receiver.requests(key)).toHaveLength(2);
    const refs = receiver.delivered(key).flatMap(refsIn);
    expect(refs.sort()).toEqual(rows.slice(0, 4).map((d) => refOf.get(d.eventId)).sort());
  });

  it('a robot workflow left on a task queue nobody serves is restarted on ours by the sweep', async () => {
    const fx = await createFixture(prisma());
    const key = hex(12);
    const wc = await addChannel(fx, fx.receiver.id, 'WECOM', receiver.addWeCom(key));
    const { worker, taskQueue } = await robotWorker();
    await worker.runUntil(async () => {
      const made = await makeEvents(fx, 3);
      // A worker with another TEMPORAL_TASK_QUEUE dispatched them, then went away.
      await dispatchAll(`gone-${uid()}`);
      expect((await env.client.workflow.getHandle(robotWorkflowId(wc.id)).describe()).status.name).toBe('RUNNING');
      const swept = await sweepOnce({ prisma: prisma(), client: env.client, taskQueue }, { pendingOlderThanMs: 0, stuckAfterMs: 0 });
      expect(swept.robots).toBeGreaterThanOrEqual(1);
      expect((await env.client.workflow.getHandle(robotWorkflowId(wc.id)).describe()).taskQueue).toBe(taskQueue);
      // Waited for in real time (three messages go at once), and last in this file: the test
      // server does not skip time any more once a workflow whose first task was never
      // picked up has been terminated.
      await until(async () => (await prisma().delivery.count({ where: { channelId: wc.id, status: 'SENT' } })) === 3);
      await expectEachDeliveredOnce(key, wc.id, made);
    });
  });
});
