// Robot messages and the vendors' rules, as pure functions: rendering (Chinese / English,
// single and digest, size limits), DingTalk signing, webhook URL checks and masking, the
// reading of vendor answers, and the workflow's batching and back-off.
import crypto from 'node:crypto';
import { fitMessage, formatAmount, formatDuration, formatTime, renderMessage, type RenderContext, type RenderItem } from '../../activities/robots/render';
import { checkWebhookUrl, classifyResponse, dingTalkSignature, maskWebhookUrl, requestUrl, robotKey, DEFAULT_ALLOWED_URL_PREFIXES } from '../../activities/robots/vendor';
import { backoffMs, batchSize } from '../../workflows/robot';

const NOW = Date.parse('2026-11-22T02:00:00Z');
const ctx = (over: Partial<RenderContext> = {}): RenderContext => ({
  vendor: 'DINGTALK',
  language: 'zh',
  keywords: [],
  baseUrl: 'https://ic.example.com/',
  now: NOW,
  timezone: 'Asia/Shanghai',
  messageId: '11111111-2222-3333-4444-555555555555',
  ...over,
});

let n = 0;
function item(over: Partial<RenderItem> = {}): RenderItem {
  n++;
  return {
    eventId: `e${n}`,
    kind: 'TASK_ASSIGNED',
    transfer: {
      id: `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`,
      ref: `INV-${String(n).padStart(6, '0')}`,
      type: 'GOODS',
      sender: { code: 'SH01', name: '上海贸易有限公司' },
      receiver: { code: 'SZ02', name: '深圳制造有限公司' },
      amount: '1234567.50',
      currency: 'CNY',
      period: '2026-11',
      dueAt: '2026-11-24T02:00:00Z',
      status: 'PENDING',
    },
    entity: null,
    payload: { dueAt: '2026-11-24T02:00:00Z', escalationLevel: 0 },
    mobiles: [],
    ...over,
  };
}

describe('formatting', () => {
  it('amounts exactly, with thousands separators and two decimals', () => {
    expect(formatAmount('1234567.5')).toBe('1,234,567.50');
    expect(formatAmount('125')).toBe('125.00');
    expect(formatAmount('-8000.00')).toBe('-8,000.00');
    expect(formatAmount('0.01')).toBe('0.01');
  });

  it('durations in hours and minutes, days from 72 hours on', () => {
    expect(formatDuration(48 * 3600_000, 'zh')).toBe('48 小时');
    expect(formatDuration(47 * 3600_000 + 59 * 60_000, 'en')).toBe('47 h 59 min');
    expect(formatDuration(5 * 60_000, 'zh')).toBe('5 分钟');
    expect(formatDuration(10_000, 'en')).toBe('1 min');
    expect(formatDuration(-(80 * 3600_000), 'zh')).toBe('3 天 8 小时');
  });

  it("deadlines in the group's time zone", () => {
    expect(formatTime('2026-11-24T02:00:00Z', 'Asia/Shanghai')).toBe('2026-11-24 10:00');
    expect(formatTime('2026-11-24T16:30:00Z', 'Asia/Shanghai')).toBe('2026-11-25 00:30');
    expect(formatTime('2026-11-24T02:00:00Z', 'Asia/Hong_Kong')).toBe('2026-11-24 10:00');
  });
});

describe('a message for one event', () => {
  it('Chinese by default: what happened, the parties, amount and currency, period, time left, the inbox link, the keywords and the message id', () => {
    const it1 = item();
    const m = renderMessage([it1], ctx({ keywords: ['内部往来', '对账'] }));
    expect(m.body).toMatchObject({ msgtype: 'markdown', markdown: { title: `【待确认】内部往来 ${it1.transfer!.ref}` }, at: { atMobiles: [], isAtAll: false } });
    for (const s of [
      '### 【待确认】',
      'SH01 上海贸易有限公司 → SZ02 深圳制造有限公司',
      '类型：货物',
      '金额：1,234,567.50 CNY',
      '期间：2026-11',
      '截止：2026-11-24 10:00（剩余 48 小时）',
      '请核对并确认这笔内部往来',
      `[在收件箱中查看](https://ic.example.com/#/transfers/${it1.transfer!.id})`,
      '内部往来 对账',
      '消息编号 11111111-2222-3333-4444-555555555555',
    ]) {
      expect(m.text).toContain(s);
    }
  });

  it('English per channel; overdue escalations @-mention by mobile (DingTalk: in the text and in at.atMobiles)', () => {
    const esc = item({ kind: 'ESCALATED', payload: { dueAt: '2026-11-21T23:00:00Z', escalationLevel: 2 }, mobiles: ['13800138000', '13900139000'] });
    const m = renderMessage([esc], ctx({ language: 'en' }));
    expect(m.body).toMatchObject({ at: { atMobiles: ['13800138000', '13900139000'] } });
    for (const s of ['【Escalated】Transfer', 'Amount: 1,234,567.50 CNY', 'Due: 2026-11-22 07:00 (overdue by 3 h)', 'Escalated to HQ finance', '@13800138000 @13900139000', 'Message 1111']) {
      expect(m.text).toContain(s);
    }
  });

  it('WeCom: markdown, or text with mentioned_mobile_list when someone is @-mentioned (its markdown cannot mention by mobile)', () => {
    expect(renderMessage([item()], ctx({ vendor: 'WECOM' })).body).toMatchObject({ msgtype: 'markdown', markdown: { content: expect.stringContaining('### 【待确认】') } });
    const m = renderMessage([item({ kind: 'ESCALATED', mobiles: ['13800138000'] })], ctx({ vendor: 'WECOM' }));
    expect(m.body).toMatchObject({ msgtype: 'text', text: { mentioned_mobile_list: ['13800138000'] } });
    expect(m.text).not.toContain('###');
    expect(m.text).toContain('在收件箱中查看: https://ic.example.com/#/transfers/');
    expect(m.limit).toBe(2048);
  });

  it('entity-level events: payment freezes and robot failures', () => {
    const frozen = renderMessage([item({ kind: 'PAYMENTS_FROZEN', transfer: null, entity: { code: 'SZ02', name: '深圳制造' }, payload: { transfers: ['a', 'b'] } })], ctx());
    expect(frozen.text).toContain('【付款已冻结】SZ02');
    expect(frozen.text).toContain('SZ02 深圳制造 的付款申请已冻结：2 笔内部往来逾期未确认');
    expect(frozen.text).toContain('https://ic.example.com/#/entities/SZ02');
    const failed = renderMessage([item({ kind: 'ROBOT_FAILED', transfer: null, payload: { channelName: '深圳群', entityCode: 'SZ02', reason: 'errcode 310000: sign not match', failedEvents: 3 } })], ctx({ language: 'en' }));
    expect(failed.text).toContain('Robot "深圳群" (SZ02) cannot send: errcode 310000: sign not match. 3 notification(s) not delivered');
    expect(failed.text).toContain('https://ic.example.com/#/notifications?status=FAILED');
  });

  it("free text from people cannot break the message's Markdown", () => {
    const m = renderMessage([item({ kind: 'TRANSFER_RESOLVED', payload: { decision: 'ADJUST', rationale: 'line1\n### <b>x</b> `y`', binding: { amount: '9.5' } } })], ctx());
    expect(m.text).toContain('集团财务调整为裁定数据，确认金额 9.50 CNY。理由：line1 ### bx/b y');
  });
});

describe('digests', () => {
  it('several events in one message, one numbered line each with its own link', () => {
    const items = [item(), item({ kind: 'REMINDER' }), item({ kind: 'ESCALATED', payload: { dueAt: '2026-11-22T01:00:00Z', escalationLevel: 1 } })];
    const m = renderMessage(items, ctx());
    expect(m.body).toMatchObject({ markdown: { title: '内部往来通知汇总（3 条）' } });
    const lines = m.text.split('\n').filter((l) => /^\d+\. /.test(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^1\. 【待确认】INV-\d+ · SH01→SZ02 · 1,234,567.50 CNY · 2026-11 · 剩余 48 小时 \[查看\]\(https:\/\/ic\.example\.com\/#\/transfers\//);
    expect(lines[2]).toContain('【已升级】');
    expect(lines[2]).toContain('已逾期 1 小时 · 至主管');
  });

  it('keep within the size limits: DingTalk 20,000 bytes, WeCom 4,096; what does not fit waits for the next message', () => {
    const many = Array.from({ length: 200 }, () => item());
    const dt = fitMessage(many, ctx());
    expect(dt.count).toBeGreaterThan(50);
    expect(dt.count).toBeLessThan(200);
    expect(Buffer.byteLength(dt.message.text)).toBeLessThanOrEqual(20_000);
    expect(Buffer.byteLength(renderMessage(many.slice(0, dt.count + 1), ctx()).text)).toBeGreaterThan(20_000);
    const wc = fitMessage(many, ctx({ vendor: 'WECOM' }));
    expect(wc.count).toBeGreaterThanOrEqual(15);
    expect(Buffer.byteLength(wc.message.text)).toBeLessThanOrEqual(4_096);
    // One huge event still goes, cut at the limit.
    const huge = item({ kind: 'TRANSFER_WITHDRAWN', transfer: { ...item().transfer!, ref: 'X'.repeat(60), sender: { code: 'A', name: '名'.repeat(3000) }, receiver: { code: 'B', name: '名'.repeat(3000) } }, mobiles: Array.from({ length: 50 }, (_, i) => `138${String(i).padStart(8, '0')}`) });
    const one = fitMessage([huge], ctx({ vendor: 'WECOM' }));
    expect(one.count).toBe(1);
    expect(Buffer.byteLength(one.message.text)).toBeLessThanOrEqual(2_048);
  });
});

describe('DingTalk signing', () => {
  it('sign = base64(HMAC-SHA256(secret, timestamp + "\\n" + secret)), URL-encoded once in the query with the timestamp in ms', () => {
    const secret = 'SEC0123456789abcdef';
    const ts = 1795320000123;
    const expected = crypto.createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64');
    expect(dingTalkSignature(secret, ts)).toBe(expected);
    const url = requestUrl({ kind: 'DINGTALK', webhookUrl: 'https://oapi.dingtalk.com/robot/send?access_token=abc', secret }, ts);
    expect(url).toBe(`https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=${ts}&sign=${encodeURIComponent(expected)}`);
    expect(new URL(url).searchParams.get('sign')).toBe(expected);
    // No secret, or WeCom: the URL as it is.
    expect(requestUrl({ kind: 'DINGTALK', webhookUrl: 'https://oapi.dingtalk.com/robot/send?access_token=abc', secret: null }, ts)).toBe('https://oapi.dingtalk.com/robot/send?access_token=abc');
    expect(requestUrl({ kind: 'WECOM', webhookUrl: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k', secret: 'SECx' }, ts)).toBe('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k');
  });
});

describe('webhook URLs', () => {
  const prod = { allowedPrefixes: DEFAULT_ALLOWED_URL_PREFIXES };
  it("production: only https URLs on the vendors' hosts, with the token parameter", () => {
    expect(checkWebhookUrl('https://oapi.dingtalk.com/robot/send?access_token=abc', 'DINGTALK', prod)).toBeNull();
    expect(checkWebhookUrl('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc', 'WECOM', prod)).toBeNull();
    expect(checkWebhookUrl('http://oapi.dingtalk.com/robot/send?access_token=abc', 'DINGTALK', prod)).toMatch(/not under an allowed prefix/);
    expect(checkWebhookUrl('https://oapi.dingtalk.com.evil.example/robot/send?access_token=abc', 'DINGTALK', prod)).toMatch(/not under an allowed prefix/);
    expect(checkWebhookUrl('https://oapi.dingtalk.com@evil.example/robot/send?access_token=abc', 'DINGTALK', prod)).toMatch(/credentials/);
    expect(checkWebhookUrl('https://oapi.dingtalk.com:8443/robot/send?access_token=abc', 'DINGTALK', prod)).toMatch(/not under an allowed prefix/);
    expect(checkWebhookUrl('http://127.0.0.1:8080/robot/send?access_token=abc', 'DINGTALK', prod)).toMatch(/not under an allowed prefix/);
    expect(checkWebhookUrl('https://oapi.dingtalk.com/robot/send?key=abc', 'DINGTALK', prod)).toMatch(/access_token=/);
    expect(checkWebhookUrl('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?access_token=abc', 'WECOM', prod)).toMatch(/key=/);
    expect(checkWebhookUrl('https://oapi.dingtalk.com/robot/send?access_token=abc&sign=x', 'DINGTALK', prod)).toMatch(/timestamp or sign/);
    expect(checkWebhookUrl('not a url', 'WECOM', prod)).toBe('is not a URL');
  });

  it('the allow-list is a setting; demo mode also accepts the loopback interface', () => {
    expect(checkWebhookUrl('http://127.0.0.1:9/robot/send?access_token=a', 'DINGTALK', { allowedPrefixes: 'http://127.0.0.1:9/robot/' })).toBeNull();
    expect(checkWebhookUrl('http://127.0.0.1:9/other/send?access_token=a', 'DINGTALK', { allowedPrefixes: 'http://127.0.0.1:9/robot/' })).toMatch(/allowed prefix/);
    expect(checkWebhookUrl('http://127.0.0.1:9/robot/send?access_token=a', 'DINGTALK', { ...prod, demo: true })).toBeNull();
    expect(checkWebhookUrl('http://localhost:9/cgi-bin/webhook/send?key=a', 'WECOM', { ...prod, demo: true })).toBeNull();
    expect(checkWebhookUrl('http://10.0.0.1/cgi-bin/webhook/send?key=a', 'WECOM', { ...prod, demo: true })).toMatch(/allowed prefix/);
  });

  it('tokens are masked to their last 4 characters; one robot, one key', () => {
    expect(maskWebhookUrl('https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef')).toBe('https://oapi.dingtalk.com/robot/send?access_token=****cdef');
    expect(maskWebhookUrl('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa')).toBe('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=****5aaa');
    expect(maskWebhookUrl('https://x.example/send?key=short')).toBe('https://x.example/send?key=****');
    expect(robotKey('https://oapi.dingtalk.com/robot/send?access_token=t1', 'DINGTALK')).toBe(robotKey('https://oapi.dingtalk.com/robot/send?access_token=t1&x=1', 'DINGTALK'));
    expect(robotKey('https://oapi.dingtalk.com/robot/send?access_token=t1', 'DINGTALK')).not.toBe(robotKey('https://oapi.dingtalk.com/robot/send?access_token=t2', 'DINGTALK'));
  });
});

describe('vendor answers', () => {
  it('errcode in the body decides, not the HTTP status', () => {
    expect(classifyResponse('DINGTALK', 200, '{"errcode":0,"errmsg":"ok"}')).toEqual({ kind: 'ok' });
    expect(classifyResponse('DINGTALK', 200, '{"errcode":130101,"errmsg":"send too fast"}')).toMatchObject({ kind: 'rateLimited', waitMs: 600_000 });
    expect(classifyResponse('WECOM', 200, '{"errcode":45009,"errmsg":"api freq out of limit"}')).toMatchObject({ kind: 'rateLimited', waitMs: 60_000 });
    expect(classifyResponse('DINGTALK', 200, '{"errcode":310000,"errmsg":"sign not match"}')).toEqual({ kind: 'permanent', scope: 'channel', reason: 'errcode 310000: sign not match' });
    expect(classifyResponse('WECOM', 200, '{"errcode":93000,"errmsg":"invalid webhook url"}')).toMatchObject({ kind: 'permanent', scope: 'channel' });
    expect(classifyResponse('DINGTALK', 200, '{"errcode":460101,"errmsg":"message too long"}')).toMatchObject({ kind: 'permanent', scope: 'message' });
    expect(classifyResponse('WECOM', 200, '{"errcode":-1,"errmsg":"system busy"}')).toMatchObject({ kind: 'retryable' });
    expect(classifyResponse('WECOM', 200, '<html>gateway</html>')).toMatchObject({ kind: 'retryable' });
  });

  it('HTTP: 429 pauses (Retry-After if given), 5xx retries, other 4xx are final', () => {
    expect(classifyResponse('WECOM', 429, '', '30')).toMatchObject({ kind: 'rateLimited', waitMs: 30_000 });
    expect(classifyResponse('DINGTALK', 429, '')).toMatchObject({ kind: 'rateLimited', waitMs: 600_000 });
    expect(classifyResponse('DINGTALK', 502, '')).toEqual({ kind: 'retryable', reason: 'HTTP 502' });
    expect(classifyResponse('DINGTALK', 404, '')).toMatchObject({ kind: 'permanent', scope: 'channel', reason: 'HTTP 404 (robot not found)' });
    expect(classifyResponse('DINGTALK', 400, '')).toMatchObject({ kind: 'permanent', scope: 'message' });
  });
});

describe('the robot workflow’s plan', () => {
  it('one message per event while the budget lasts, then digests spread over the budget left', () => {
    expect(batchSize(0, 20, 100)).toBe(0);
    expect(batchSize(5, 20, 100)).toBe(1);
    expect(batchSize(20, 20, 100)).toBe(1);
    expect(batchSize(21, 20, 100)).toBe(2);
    expect(batchSize(500, 20, 100)).toBe(25);
    expect(batchSize(500, 20, 20)).toBe(20);
    expect(batchSize(400, 1, 100)).toBe(100);
    expect(batchSize(10, 0, 100)).toBe(0);
  });

  it('exponential back-off with jitter, capped at two minutes', () => {
    expect(backoffMs(1, 0.5)).toBe(2_000);
    expect(backoffMs(2, 0.5)).toBe(4_000);
    expect(backoffMs(3, 0)).toBe(4_000);
    expect(backoffMs(3, 0.999)).toBe(11_992);
    expect(backoffMs(20, 0.5)).toBe(120_000);
  });
});
