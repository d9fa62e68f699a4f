// 4. Robot burst: ROBOT_ESCALATIONS escalations (default 1,000) inside about a minute,
// spread over ROBOTS robots (default 5: one per receiving entity, DingTalk signed and
// WeCom alternating) of the local vendor receiver (tests/helpers/robot-receiver.ts), through
// the running stack (workflow deadline → persist → outbox dispatcher → robot delivery
// workflow → HTTP). Reports messages sent, the most requests any robot got in a 60 s
// window (vendor limit 20), events lost (never delivered) and duplicated, and the time
// until the last event was delivered. Baseline: the vendor budget itself (20 a minute per
// robot), and how long one message per event would take under it.
import crypto from 'node:crypto';
import { hash } from '@node-rs/argon2';
import { createPrisma } from '../prisma/client';
import { RobotReceiver, RATE_LIMIT, WINDOW_MS } from '../tests/helpers/robot-receiver';
import { withStack } from './lib/stack';
import { call, intEnv, login, round, sleep, sql, until, type BenchResult } from './lib/util';

export async function run(): Promise<BenchResult> {
  const N = intEnv('ROBOT_ESCALATIONS', 1000);
  const ROBOTS = intEnv('ROBOTS', 5);
  /** The receivers' confirmation window: long enough to create every transfer and register the robots first. */
  const WITHIN_S = intEnv('ROBOT_CONFIRM_WITHIN_S', 150);
  const LIMIT_S = intEnv('ROBOT_TIMEOUT_S', 20 * 60);
  const startedAt = new Date().toISOString();
  const t00 = Date.now();
  const receiver = await RobotReceiver.start();
  try {
    return await withStack('robots', async (stack) => {
      const base = stack.apiUrl;
      const tag = crypto.randomBytes(3).toString('hex').toUpperCase();

      // A group of its own: HQ, one sender, ROBOTS receivers with a short confirmation window.
      const prisma = createPrisma(stack.ownerDatabaseUrl, { max: 2 });
      const passwordHash = await hash('demo');
      const group = await prisma.group.create({ data: { code: `RB${tag}`, name: `Robot bench ${tag}`, confirmWithin: `PT${WITHIN_S}S`, remindBefore: 'PT24H', escalationWithin: 'PT24H' } });
      const entity = (code: string, kind: 'HQ' | 'SUBSIDIARY' = 'SUBSIDIARY') => prisma.entity.create({ data: { groupId: group.id, code: `${code}${tag}`, name: `${code} 公司 ${tag}`, kind } });
      const hqEntity = await entity('HQ', 'HQ');
      const sender = await entity('S');
      const receivers: Array<{ id: string; code: string }> = [];
      for (let k = 0; k < ROBOTS; k++) receivers.push(await entity(`R${k}`));
      const user = async (name: string, entityId: string, role: 'ACCOUNTANT' | 'SUPERVISOR', groupRole: 'HQ_FINANCE' | null = null) => {
        const u = await prisma.user.create({ data: { username: `${name}.${tag}`.toLowerCase(), displayName: `${name} ${tag}`, passwordHash, groupRole } });
        await prisma.membership.create({ data: { userId: u.id, entityId, role } });
        return u.username;
      };
      const hqUser = await user('hq', hqEntity.id, 'SUPERVISOR', 'HQ_FINANCE');
      const senderUser = await user('sacc', sender.id, 'ACCOUNTANT');
      for (const r of receivers) await user(`acc-${r.code}`, r.id, 'ACCOUNTANT');
      await prisma.$disconnect();
      const [hqToken, senderToken] = [await login(base, hqUser), await login(base, senderUser)];
      const receiverIds = receivers.map((r) => r.id);

      // The transfers, in one import request (their deadlines lapse WITHIN_S after their workflows start).
      const c0 = Date.now();
      const transfers = Array.from({ length: N }, (_, i) => ({
        senderEntity: sender.code,
        receiverEntity: receivers[i % ROBOTS].code,
        type: 'SERVICE',
        externalRef: `RB-${tag}-${String(i + 1).padStart(5, '0')}`,
        amount: `${1000 + i}.00`,
        currency: 'CNY',
        documentDate: '2026-11-20',
        period: '2026-11',
      }));
      const imp = await call(base, 'POST', '/api/transfers/import', { token: senderToken, body: { transfers } }, [200, 202]);
      if (imp.created !== N) throw new Error(`import created ${imp.created} of ${N}`);
      // Every first task written, and its TASK_ASSIGNED event dispatched (there are no robots yet).
      await until('the first tasks', async () => {
        const [{ n }] = await sql(stack.ownerDatabaseUrl, `SELECT count(*)::int AS n FROM "Task" t JOIN "Transfer" r ON r.id = t."transferId" WHERE r."receiverEntityId" = ANY($1::uuid[])`, [receiverIds]);
        return n >= N;
      }, LIMIT_S * 1000, 500);
      await until('the TASK_ASSIGNED events dispatched', async () => {
        const [{ n }] = await sql(stack.ownerDatabaseUrl, `SELECT count(*)::int AS n FROM "NotificationEvent" WHERE "entityId" = ANY($1::uuid[]) AND status = 'PENDING'`, [receiverIds]);
        return n === 0;
      }, 120_000, 250);
      const createdS = (Date.now() - c0) / 1000;

      // The robots: one per receiving entity, registered by HQ through the API.
      const robotKeys: string[] = [];
      for (const [k, r] of receivers.entries()) {
        const key = crypto.randomBytes(12).toString('hex');
        robotKeys.push(key);
        const secret = `SEC${crypto.randomBytes(24).toString('hex')}`;
        const body =
          k % 2 === 0
            ? { entity: r.code, kind: 'DINGTALK', name: `${r.code} 钉钉群`, webhookUrl: receiver.addDingTalk(key, { secret }), secret }
            : { entity: r.code, kind: 'WECOM', name: `${r.code} 企业微信群`, webhookUrl: receiver.addWeCom(key) };
        await call(base, 'POST', '/api/channels', { token: hqToken, body }, [201]);
      }
      const [early] = await sql(stack.ownerDatabaseUrl, `SELECT count(*)::int AS n FROM "NotificationEvent" WHERE "entityId" = ANY($1::uuid[]) AND kind = 'ESCALATED'`, [receiverIds]);
      if (early.n > 0) throw new Error(`${early.n} escalations happened before the robots were registered: raise ROBOT_CONFIRM_WITHIN_S (now ${WITHIN_S})`);

      // The burst: every deadline lapses; wait until each escalation is delivered (or failed).
      interface Row {
        id: string;
        created: Date;
        status: string | null;
        messageId: string | null;
        robot: string | null;
      }
      const rows = async () =>
        sql<Row>(
          stack.ownerDatabaseUrl,
          `SELECT e.id, e."createdAt" AS created, d.status, d."messageId", c."webhookUrl" AS robot
           FROM "NotificationEvent" e LEFT JOIN "Delivery" d ON d."eventId" = e.id LEFT JOIN "Channel" c ON c.id = d."channelId"
           WHERE e."entityId" = ANY($1::uuid[]) AND e.kind = 'ESCALATED'`,
          [receiverIds],
        );
      let last: Row[] = [];
      await until('every escalation delivered', async () => {
        last = await rows();
        return last.length >= N && last.every((r) => r.status === 'SENT' || r.status === 'FAILED');
      }, LIMIT_S * 1000, 1000);
      await sleep(500);
      last = await rows();

      // What the robots' groups received.
      const accepted = receiver.requests().filter((r) => robotKeys.includes(r.robot));
      const delivered = accepted.filter((r) => r.accepted);
      const deliveredIds = new Set(delivered.map((r) => r.messageId));
      const seenIds = new Map<string, number>();
      for (const r of delivered) if (r.messageId) seenIds.set(r.messageId, (seenIds.get(r.messageId) ?? 0) + 1);
      const duplicates = [...seenIds.values()].filter((n) => n > 1).length;
      const lost = last.filter((r) => r.status !== 'SENT' || !r.messageId || !deliveredIds.has(r.messageId)).length + Math.max(0, N - last.length);
      const esc = last.map((r) => r.created.getTime()).sort((a, b) => a - b);
      const firstEsc = esc[0];
      const lastEsc = esc[esc.length - 1];
      const lastDelivered = Math.max(...delivered.map((r) => r.at));
      const perRobot = robotKeys.map((k) => receiver.maxInWindow(k, WINDOW_MS));
      const rejected = accepted.length - delivered.length;
      const perRobotEvents = robotKeys.map((k) => last.filter((r) => r.robot?.includes(k)).length);
      const deliverS = (lastDelivered - firstEsc) / 1000;
      return {
        name: 'robots',
        params: { escalations: N, robots: ROBOTS, 'kinds': 'DingTalk (signed) / WeCom alternating', 'confirm window (s)': WITHIN_S },
        figures: {
          'transfers created + first tasks (s)': round(createdS, 1),
          'escalations written over (s)': round((lastEsc - firstEsc) / 1000, 1),
          'events per robot': perRobotEvents.join(', '),
          'messages sent (accepted by the vendor)': delivered.length,
          'messages per robot': robotKeys.map((k) => delivered.filter((r) => r.robot === k).length).join(', '),
          'requests refused by the vendor (rate limit etc.)': rejected,
          'max requests per robot in any 60 s window': Math.max(...perRobot),
          'events lost': lost,
          'messages delivered twice': duplicates,
          'first escalation → last event delivered (s)': round(deliverS, 1),
          'last escalation → last event delivered (s)': round((lastDelivered - lastEsc) / 1000, 1),
        },
        baseline: {
          'vendor budget': `${RATE_LIMIT} messages per robot per ${WINDOW_MS / 1000} s`,
          'events per message (mean)': round(N / Math.max(1, delivered.length), 1),
          'one message per event would take (s, per robot)': round((Math.max(...perRobotEvents) / RATE_LIMIT) * (WINDOW_MS / 1000), 0),
        },
        ratio: { name: 'messages sent ÷ escalations (1 = one message each)', value: delivered.length / N },
        targets: [
          { name: `max per robot per 60 s ≤ ${RATE_LIMIT}`, ok: Math.max(...perRobot) <= RATE_LIMIT, detail: `${Math.max(...perRobot)} (per robot: ${perRobot.join(', ')})` },
          { name: 'events lost = 0', ok: lost === 0, detail: String(lost) },
          { name: 'no message delivered twice', ok: duplicates === 0, detail: String(duplicates) },
          { name: 'no request refused by the vendor', ok: rejected === 0, detail: String(rejected) },
          { name: 'setup: escalations inside one minute', ok: lastEsc - firstEsc <= 60_000, detail: `${round((lastEsc - firstEsc) / 1000, 1)} s` },
        ],
        notes: [],
        startedAt,
        elapsedS: round((Date.now() - t00) / 1000, 1),
      };
    });
  } finally {
    await receiver.close();
  }
}
