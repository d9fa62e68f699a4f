// A local stand-in for the WeCom and DingTalk robot webhooks: a real HTTP server on
// 127.0.0.1 that answers like the vendors (see ../shared/docs/offline-setup.md, "Robots").
//
// - WeCom:    POST /cgi-bin/webhook/send?key=K        (unknown key → errcode 93000)
// - DingTalk: POST /robot/send?access_token=T[&timestamp=ms&sign=…]
//   (unknown token → 300001; with a secret: timestamp within an hour of the wall clock
//   and sign = base64(HMAC-SHA256(secret, timestamp + "\n" + secret)), else 310000;
//   with keywords: the text must contain one, else 310000)
// - both: at most 20 requests per robot in any 60 s (by `clock`); beyond that WeCom
//   answers 45009 and DingTalk 130101 and then blocks the robot for 10 minutes (130101);
//   sizes: DingTalk markdown 20,000 bytes, WeCom markdown 4,096 / text 2,048.
// - failNext(robot, mode, n): the next n requests fail with HTTP 429, HTTP 500, no answer
//   (timeout), errcode 130101 (and its 10-minute block) or errcode 310000.
// - stop() / restart(): the whole receiver is down (connection refused) and back.
//
// The rate limit runs on `clock` (default the wall clock). Workflow tests on the
// time-skipping server pass the test server's time, the clock the workflows wait on, so
// "20 per minute" means the same thing on both sides. Every request is recorded with
// that time, so tests can check the window over all of them.
import http from 'node:http';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';

export type FailureMode = '429' | '500' | 'timeout' | '130101' | '310000';

export interface ReceivedRequest {
  seq: number;
  vendor: 'WECOM' | 'DINGTALK';
  robot: string;
  /** Receiver clock (what the rate limit uses). */
  at: number;
  httpStatus: number;
  /** null: no JSON answer (HTTP error or no answer). */
  errcode: number | null;
  errmsg: string | null;
  /** Delivered to the group. */
  accepted: boolean;
  body: any;
  /** The message text (DingTalk markdown title + text, WeCom content). */
  text: string;
  /** Our message id, from the message footer. */
  messageId: string | null;
  mentions: string[];
  /** DingTalk: the request carried a timestamp and a sign that verified. */
  signed: boolean;
}

interface Robot {
  vendor: 'WECOM' | 'DINGTALK';
  secret?: string;
  keywords?: string[];
  blockedUntil: number;
  times: number[];
  failures: FailureMode[];
}

export const RATE_LIMIT = 20;
export const WINDOW_MS = 60_000;
export const DINGTALK_BLOCK_MS = 10 * 60_000;

export class RobotReceiver {
  private server: http.Server | null = null;
  private robots = new Map<string, Robot>();
  private log: ReceivedRequest[] = [];
  private seq = 0;
  private hanging = new Set<http.ServerResponse>();
  port = 0;

  private constructor(private readonly clock: () => number | Promise<number>) {}

  static async start(opts: { clock?: () => number | Promise<number> } = {}): Promise<RobotReceiver> {
    const r = new RobotReceiver(opts.clock ?? Date.now);
    await r.listen(0);
    return r;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Registers a WeCom robot; returns its webhook URL. */
  addWeCom(key = crypto.randomBytes(12).toString('hex')): string {
    this.robots.set(key, { vendor: 'WECOM', blockedUntil: 0, times: [], failures: [] });
    return `${this.base}/cgi-bin/webhook/send?key=${key}`;
  }

  /** Registers a DingTalk robot (its security settings: secret and/or keywords); returns its webhook URL. */
  addDingTalk(token = crypto.randomBytes(16).toString('hex'), opts: { secret?: string; keywords?: string[] } = {}): string {
    this.robots.set(token, { vendor: 'DINGTALK', secret: opts.secret, keywords: opts.keywords, blockedUntil: 0, times: [], failures: [] });
    return `${this.base}/robot/send?access_token=${token}`;
  }

  /** The next `times` requests to `robot` fail this way. */
  failNext(robot: string, mode: FailureMode, times = 1): void {
    const r = this.robots.get(robot);
    if (!r) throw new Error(`unknown robot ${robot}`);
    for (let i = 0; i < times; i++) r.failures.push(mode);
  }

  requests(robot?: string): ReceivedRequest[] {
    return robot ? this.log.filter((r) => r.robot === robot) : [...this.log];
  }

  delivered(robot?: string): ReceivedRequest[] {
    return this.requests(robot).filter((r) => r.accepted);
  }

  /** The most requests (all of them, accepted or not) the robot got in any window of `windowMs`. */
  maxInWindow(robot: string, windowMs = WINDOW_MS): number {
    const times = this.requests(robot).map((r) => r.at).sort((a, b) => a - b);
    let best = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i] - times[j] >= windowMs) j++;
      best = Math.max(best, i - j + 1);
    }
    return best;
  }

  /** Down: connections are refused until restart(). */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  async restart(): Promise<void> {
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    await this.stop();
  }

  private listen(port: number): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        this.handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err) => {
          res.statusCode = 500;
          res.end(String(err));
        });
      });
    });
    server.keepAliveTimeout = 1_000;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.server = server;
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const vendor = url.pathname === '/cgi-bin/webhook/send' ? 'WECOM' : url.pathname === '/robot/send' ? 'DINGTALK' : null;
    if (req.method !== 'POST' || !vendor) {
      res.writeHead(404).end('not found');
      return;
    }
    const token = url.searchParams.get(vendor === 'WECOM' ? 'key' : 'access_token') ?? '';
    const at = await this.clock();
    let body: any = null;
    try {
      body = JSON.parse(raw);
    } catch {
      /* checked below */
    }
    const text = textOf(body);
    const entry: ReceivedRequest = {
      seq: ++this.seq,
      vendor,
      robot: token,
      at,
      httpStatus: 200,
      errcode: null,
      errmsg: null,
      accepted: false,
      body,
      text,
      messageId: /(?:消息编号|Message) ([0-9a-f-]{36})/.exec(text)?.[1] ?? null,
      mentions: body?.at?.atMobiles ?? body?.text?.mentioned_mobile_list ?? [],
      signed: false,
    };
    const answer = (errcode: number, errmsg: string) => {
      entry.errcode = errcode;
      entry.errmsg = errmsg;
      entry.accepted = errcode === 0;
      this.log.push(entry);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ errcode, errmsg }));
    };
    const robot = this.robots.get(token);
    if (!robot || robot.vendor !== vendor) {
      return vendor === 'WECOM' ? answer(93000, 'invalid webhook url') : answer(300001, 'token is not exist');
    }
    // Every request to a known robot counts against its minute.
    robot.times.push(at);
    const failure = robot.failures.shift();
    if (failure === '429' || failure === '500') {
      entry.httpStatus = Number(failure);
      this.log.push(entry);
      res.writeHead(entry.httpStatus, { 'content-type': 'text/plain' }).end(failure === '429' ? 'Too Many Requests' : 'Internal Server Error');
      return;
    }
    if (failure === 'timeout') {
      entry.httpStatus = 0;
      this.log.push(entry);
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return; // never answers
    }
    if (failure === '130101' && vendor === 'DINGTALK') robot.blockedUntil = at + DINGTALK_BLOCK_MS;
    if (failure === '130101') return answer(vendor === 'DINGTALK' ? 130101 : 45009, 'send too fast, exceed 20 times per minute');
    if (failure === '310000') return answer(310000, 'sign not match');

    if (vendor === 'DINGTALK' && at < robot.blockedUntil) return answer(130101, 'send too fast, exceed 20 times per minute');
    const recent = robot.times.filter((t) => t > at - WINDOW_MS).length;
    if (recent > RATE_LIMIT) {
      if (vendor === 'DINGTALK') {
        robot.blockedUntil = at + DINGTALK_BLOCK_MS;
        return answer(130101, 'send too fast, exceed 20 times per minute');
      }
      return answer(45009, 'api freq out of limit');
    }
    if (!body || typeof body !== 'object') return answer(vendor === 'WECOM' ? 40008 : 400, 'invalid message');
    if (vendor === 'DINGTALK') {
      if (robot.secret) {
        const ts = Number(url.searchParams.get('timestamp'));
        const sign = url.searchParams.get('sign') ?? '';
        // The timestamp window is checked against the real wall clock (the sender signs with it).
        if (!Number.isFinite(ts) || Math.abs(Date.now() - ts) > 3_600_000) return answer(310000, 'invalid timestamp');
        const expected = crypto.createHmac('sha256', robot.secret).update(`${ts}\n${robot.secret}`).digest('base64');
        if (sign !== expected) return answer(310000, 'sign not match');
        entry.signed = true;
      }
      if (robot.keywords?.length && !robot.keywords.some((k) => text.includes(k))) return answer(310000, 'keywords not in content');
      if (body.msgtype === 'markdown' && Buffer.byteLength(body.markdown?.text ?? '', 'utf8') > 20_000) return answer(460101, 'message too long');
      if (body.msgtype !== 'markdown' && body.msgtype !== 'text') return answer(400, 'invalid msgtype');
    } else {
      const limit = body.msgtype === 'markdown' ? 4_096 : body.msgtype === 'text' ? 2_048 : 0;
      if (!limit) return answer(40008, 'invalid message type');
      if (Buffer.byteLength(body.markdown?.content ?? body.text?.content ?? '', 'utf8') > limit) return answer(40058, 'content exceed max length');
    }
    return answer(0, 'ok');
  }
}

function textOf(body: any): string {
  if (!body || typeof body !== 'object') return '';
  if (body.msgtype === 'markdown') return `${body.markdown?.title ?? ''}\n${body.markdown?.text ?? body.markdown?.content ?? ''}`;
  if (body.msgtype === 'text') return body.text?.content ?? '';
  return '';
}
