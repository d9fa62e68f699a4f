// Robots end to end: HQ manages channels over HTTP, the running stack (API, worker with
// its dispatcher, dev server) delivers notification events to the local WeCom / DingTalk
// receiver in real time, and /api/notifications shows what happened. The test stack runs
// in demo mode, so loopback webhook URLs are accepted.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { http, login } from '../helpers/http';
import { createFixture, serviceTransferBody, PASSWORD, testPrisma, uid, type Fixture } from '../helpers/fixtures';
import { RobotReceiver } from '../helpers/robot-receiver';
import { until } from '../helpers/wait';

let receiver: RobotReceiver;
beforeAll(async () => {
  receiver = await RobotReceiver.start();
});
afterAll(async () => {
  await receiver?.close();
});

const hex = (n: number) => crypto.randomBytes(n).toString('hex');

async function setup() {
  const fx = await createFixture();
  const [hq, senderAcc, receiverAcc, thirdAcc] = await Promise.all((['hq', 'senderAcc', 'receiverAcc', 'thirdAcc'] as const).map((w) => login(fx.users[w].username, PASSWORD)));
  return { fx, t: { hq, senderAcc, receiverAcc, thirdAcc } };
}

async function createTransfer(fx: Fixture, token: string) {
  const r = await http('POST', '/api/transfers', {
    token,
    body: serviceTransferBody(fx),
  });
  expect(r.status).toBe(201);
  return r.body as { id: string; externalRef: string };
}

describe('robot channels (HQ)', () => {
  it('HQ adds, lists, changes and removes robots; tokens and secrets never come back in full nor reach the audit trail; only allowed URLs', async () => {
    const { fx, t } = await setup();
    const token = hex(16);
    const secret = `SEC${hex(32)}`;
    const url = receiver.addDingTalk(token, { secret });
    const body = { entity: fx.receiver.code, kind: 'DINGTALK', name: '深圳财务群', webhookUrl: url, secret, keywords: ['内部往来'], language: 'en' };

    expect((await http('POST', '/api/channels', { token: t.receiverAcc, body })).status).toBe(403);
    const evil = await http('POST', '/api/channels', { token: t.hq, body: { ...body, webhookUrl: `https://evil.example.com/robot/send?access_token=${token}` } });
    expect(evil.status).toBe(422);
    expect(evil.body.message).toContain('webhookUrl: is not under an allowed prefix');
    expect((await http('POST', '/api/channels', { token: t.hq, body: { ...body, kind: 'WECOM' } })).body.message).toContain('needs its key= parameter');
    expect((await http('POST', '/api/channels', { token: t.hq, body: { ...body, secret: 'not-a-secret' } })).status).toBe(400);

    const created = await http('POST', '/api/channels', { token: t.hq, body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      entity: fx.receiver.code,
      kind: 'DINGTALK',
      name: '深圳财务群',
      webhookUrl: `${receiver.base}/robot/send?access_token=****${token.slice(-4)}`,
      hasSecret: true,
      keywords: ['内部往来'],
      language: 'en',
      active: true,
      deliveries: { pending: 0, sent: 0, failed: 0 },
    });
    expect(created.body).not.toHaveProperty('secret');
    const id = created.body.id as string;

    // One channel per robot: its rate limit is per robot.
    expect((await http('POST', '/api/channels', { token: t.hq, body: { ...body, entity: fx.third.code } })).status).toBe(409);

    const list = await http('GET', `/api/channels?entity=${fx.receiver.code}`, { token: t.hq });
    expect(list.body.map((c: { id: string }) => c.id)).toEqual([id]);
    const changed = await http('PUT', `/api/channels/${id}`, { token: t.hq, body: { secret: null, keywords: ['对账'], name: '深圳群' } });
    expect(changed.body).toMatchObject({ hasSecret: false, keywords: ['对账'], name: '深圳群' });
    expect((await http('PUT', `/api/channels/${id}`, { token: t.hq, body: { kind: 'WECOM' } })).status).toBe(422);
    expect((await http('GET', `/api/channels/${id}`, { token: t.hq })).body.name).toBe('深圳群');

    for (const r of [created, list, changed]) {
      expect(JSON.stringify(r.body)).not.toContain(token);
      expect(JSON.stringify(r.body)).not.toContain(secret);
    }
    expect((await http('DELETE', `/api/channels/${id}`, { token: t.hq })).status).toBe(204);
    expect((await http('GET', `/api/channels/${id}`, { token: t.hq })).status).toBe(404);
    expect((await http('GET', `/api/channels?entity=${fx.receiver.code}`, { token: t.hq })).body).toEqual([]);
    // Removed: the robot can be registered again.
    expect((await http('POST', '/api/channels', { token: t.hq, body: { ...body, entity: fx.third.code } })).status).toBe(201);

    const audit = await testPrisma().auditEvent.findMany({ where: { objectType: 'channel', objectId: id } });
    expect(audit.map((a) => a.action).sort()).toEqual(['CHANNEL_CREATED', 'CHANNEL_DELETED', 'CHANNEL_UPDATED']);
    const kept = JSON.stringify(audit.map((a) => ({ before: a.before, after: a.after, reason: a.reason })));
    expect(kept).toContain('access_token=****');
    expect(kept).not.toContain(token);
    expect(kept).not.toContain(secret);
    // Nor the logs (pino redaction; nothing logs them in the first place).
    const log = path.join(__dirname, '..', '..', 'artifacts', 'test-stack.log');
    if (process.env.TEST_STACK_PID && fs.existsSync(log)) {
      const text = fs.readFileSync(log, 'utf8');
      expect(text).not.toContain(token);
      expect(text).not.toContain(secret);
    }
  });
});

describe('notifications through the running stack', () => {
  it("a new transfer reaches the receiver's DingTalk group, signed; /api/notifications shows the delivery, scoped", async () => {
    const { fx, t } = await setup();
    const token = hex(16);
    const secret = `SEC${hex(32)}`;
    const created = await http('POST', '/api/channels', {
      token: t.hq,
      body: { entity: fx.receiver.code, kind: 'DINGTALK', name: 'R 群', webhookUrl: receiver.addDingTalk(token, { secret, keywords: ['内部往来'] }), secret, keywords: ['内部往来'] },
    });
    expect(created.status).toBe(201);
    const tr = await createTransfer(fx, t.senderAcc);
    const msg = await until(async () => receiver.delivered(token).find((r) => r.text.includes(tr.externalRef)));
    expect(msg.signed).toBe(true);
    for (const s of ['【待确认】', fx.sender.code, fx.receiver.code, '8,000.00 CNY', '2026-11', '剩余', `/#/transfers/${tr.id}`]) expect(msg.text).toContain(s);

    const seen = await until(async () => {
      const r = await http('GET', `/api/notifications?transfer=${tr.id}`, { token: t.receiverAcc });
      return r.body.items?.[0]?.deliveries?.[0]?.status === 'SENT' ? r : null;
    });
    expect(seen.body.items).toHaveLength(1);
    expect(seen.body.items[0]).toMatchObject({
      kind: 'TASK_ASSIGNED',
      transferId: tr.id,
      entity: { code: fx.receiver.code },
      status: 'DISPATCHED',
      deliveries: [{ robot: { id: created.body.id, name: 'R 群', kind: 'DINGTALK', removed: false }, status: 'SENT', attempts: 1, messageId: msg.messageId, lastError: null }],
    });
    expect((await http('GET', `/api/notifications?entity=${fx.receiver.code}&status=SENT`, { token: t.hq })).body.items.map((i: { transferId: string }) => i.transferId)).toContain(tr.id);
    expect((await http('GET', `/api/notifications?transfer=${tr.id}`, { token: t.thirdAcc })).body.items).toEqual([]);
    expect((await http('GET', '/api/channels', { token: t.hq })).body.find((c: { id: string }) => c.id === created.body.id).deliveries).toEqual({ pending: 0, sent: 1, failed: 0 });
  });

  it('a robot that refuses (wrong secret): FAILED with the reason, HQ told through its robot; HQ fixes the secret and retries', async () => {
    const { fx, t } = await setup();
    const token = hex(16);
    const secret = `SEC${hex(32)}`;
    const hqKey = hex(12);
    const hqRobot = await http('POST', '/api/channels', { token: t.hq, body: { entity: fx.hq.code, kind: 'WECOM', name: 'HQ 财务', webhookUrl: receiver.addWeCom(hqKey) } });
    expect(hqRobot.status).toBe(201);
    const robot = await http('POST', '/api/channels', {
      token: t.hq,
      body: { entity: fx.receiver.code, kind: 'DINGTALK', name: '深圳群', webhookUrl: receiver.addDingTalk(token, { secret }), secret: `SEC${hex(32)}` },
    });
    expect(robot.status).toBe(201);
    const tr = await createTransfer(fx, t.senderAcc);

    const failed = await until(async () => (await http('GET', `/api/notifications?transfer=${tr.id}&status=FAILED`, { token: t.hq })).body.items?.[0]);
    expect(failed.deliveries[0]).toMatchObject({ status: 'FAILED', attempts: 1, lastError: 'errcode 310000: sign not match' });
    const told = await until(async () => receiver.delivered(hqKey).find((r) => r.text.includes('深圳群')));
    for (const s of ['机器人发送失败', fx.receiver.code, '310000']) expect(told.text).toContain(s);
    const notices = await http('GET', `/api/notifications?entity=${fx.hq.code}&kind=ROBOT_FAILED`, { token: t.hq });
    expect(notices.body.items[0]).toMatchObject({ kind: 'ROBOT_FAILED', payload: { channelId: robot.body.id, failedEvents: 1 } });

    expect((await http('POST', `/api/notifications/${failed.id}/retry`, { token: t.receiverAcc })).status).toBe(403);
    expect((await http('PUT', `/api/channels/${robot.body.id}`, { token: t.hq, body: { secret } })).status).toBe(200);
    const retried = await http('POST', `/api/notifications/${failed.id}/retry`, { token: t.hq });
    expect(retried.status).toBe(202);
    expect(retried.body.retried).toBe(1);
    const msg = await until(async () => receiver.delivered(token).find((r) => r.text.includes(tr.externalRef)));
    expect(msg.signed).toBe(true);
    const after = await until(async () => {
      const r = await http('GET', `/api/notifications?transfer=${tr.id}`, { token: t.hq });
      return r.body.items[0].deliveries[0].status === 'SENT' ? r.body.items[0] : null;
    });
    expect(after.deliveries[0]).toMatchObject({ attempts: 2, messageId: msg.messageId });
    expect((await http('POST', `/api/notifications/${failed.id}/retry`, { token: t.hq })).status).toBe(409);
  });
});
