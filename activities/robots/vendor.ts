// What WeCom (企业微信) and DingTalk (钉钉) group robots expect and answer. Pure code:
// URL checks and masking, DingTalk signing, size limits, and the reading of a response
// (errcode in the body decides, not the HTTP status).
import crypto from 'node:crypto';

export type RobotKind = 'WECOM' | 'DINGTALK';

/** Both vendors: at most this many messages per robot in any rolling minute. */
export const ROBOT_MESSAGES_PER_MINUTE = 20;
/** DingTalk blocks a robot this long after errcode 130101 (too fast). */
export const DINGTALK_PENALTY_MS = 10 * 60_000;
/** WeCom (errcode 45009) and a bare HTTP 429 without Retry-After: wait a full window. */
export const WECOM_PENALTY_MS = 60_000;

/** Bytes (UTF-8) of the message text each vendor accepts. */
export const SIZE_LIMITS = {
  DINGTALK_MARKDOWN: 20_000,
  WECOM_MARKDOWN: 4_096,
  WECOM_TEXT: 2_048,
} as const;

export const DEFAULT_ALLOWED_URL_PREFIXES = 'https://qyapi.weixin.qq.com/,https://oapi.dingtalk.com/';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The query parameter that carries each vendor's robot token. */
export const TOKEN_PARAM: Record<RobotKind, string> = { WECOM: 'key', DINGTALK: 'access_token' };

export const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * Checks a webhook URL for a channel: a URL under one of the allowed prefixes (scheme,
 * host and port, and path prefix compared after parsing, so `https://oapi.dingtalk.com.evil/`
 * or `https://oapi.dingtalk.com@evil/` never pass), no credentials, the vendor's token
 * parameter present, and no `timestamp` / `sign` (added per request). Demo mode also
 * accepts http(s) URLs on the loopback interface (the local test receiver).
 * Returns an error message, or null when the URL is acceptable.
 */
export function checkWebhookUrl(raw: string, kind: RobotKind, opts: { allowedPrefixes: string; demo?: boolean }): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an https URL';
  const loopback = !!opts.demo && LOOPBACK.has(url.hostname);
  if (!loopback && !allowedBy(url, opts.allowedPrefixes)) {
    return `is not under an allowed prefix (ROBOT_ALLOWED_URL_PREFIXES: ${parsePrefixes(opts.allowedPrefixes).join(', ')})`;
  }
  const token = url.searchParams.get(TOKEN_PARAM[kind]);
  if (!token) return `a ${kind} webhook URL needs its ${TOKEN_PARAM[kind]}= parameter`;
  if (url.searchParams.has('timestamp') || url.searchParams.has('sign')) return 'must not include timestamp or sign (they are added to each request)';
  if (url.hash) return 'must not have a #fragment';
  return null;
}

export function parsePrefixes(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function allowedBy(url: URL, list: string): boolean {
  for (const p of parsePrefixes(list)) {
    let prefix: URL;
    try {
      prefix = new URL(p);
    } catch {
      continue;
    }
    if (prefix.protocol !== url.protocol || prefix.host !== url.host) continue;
    const path = prefix.pathname.endsWith('/') ? prefix.pathname : `${prefix.pathname}/`;
    if (prefix.pathname === '/' || url.pathname === prefix.pathname || url.pathname.startsWith(path)) return true;
  }
  return false;
}

/** The robot's token from a webhook URL (null when missing). */
export function robotToken(raw: string, kind: RobotKind): string | null {
  try {
    return new URL(raw).searchParams.get(TOKEN_PARAM[kind]);
  } catch {
    return null;
  }
}

/** Identifies the vendor's robot (one channel per robot): sha256 of kind and token. */
export function robotKey(raw: string, kind: RobotKind): string {
  return crypto.createHash('sha256').update(`${kind}:${robotToken(raw, kind) ?? raw}`).digest('hex');
}

/** The URL with its token masked (`key=****1a2b`): what the API shows. */
export function maskWebhookUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '****';
  }
  const parts: string[] = [];
  for (const [k, v] of url.searchParams) {
    const secret = k === 'key' || k === 'access_token' || k === 'sign';
    parts.push(`${encodeURIComponent(k)}=${secret ? `****${v.length > 8 ? v.slice(-4) : ''}` : encodeURIComponent(v)}`);
  }
  return `${url.origin}${url.pathname}${parts.length ? `?${parts.join('&')}` : ''}`;
}

/** DingTalk: base64 of HMAC-SHA256(secret, `${timestamp}\n${secret}`) (URL-encoded once in the query). */
export function dingTalkSignature(secret: string, timestamp: number): string {
  return crypto.createHmac('sha256', secret).update(`${timestamp}\n${secret}`, 'utf8').digest('base64');
}

/** The URL a message is POSTed to: DingTalk robots with a secret get `timestamp` (ms) and `sign`. */
export function requestUrl(channel: { kind: RobotKind; webhookUrl: string; secret: string | null }, now: number): string {
  if (channel.kind !== 'DINGTALK' || !channel.secret) return channel.webhookUrl;
  const url = new URL(channel.webhookUrl);
  url.searchParams.set('timestamp', String(now));
  url.searchParams.set('sign', dingTalkSignature(channel.secret, now)); // URLSearchParams URL-encodes it
  return url.toString();
}

export type SendOutcome =
  | { kind: 'ok' }
  | { kind: 'rateLimited'; waitMs: number; reason: string }
  | { kind: 'retryable'; reason: string }
  | { kind: 'permanent'; scope: 'channel' | 'message'; reason: string };

/** errcodes that say the robot itself is unusable (bad or removed token, signature, keywords, IP). */
const CHANNEL_ERRCODES: Record<RobotKind, number[]> = {
  // 310000 sign / keyword / IP check failed; 300001 / 400101 token does not exist;
  // 300005 / 400102 robot disabled; 400105, 400106 robot removed or not found.
  DINGTALK: [310000, 300001, 300005, 400101, 400102, 400105, 400106],
  // 93000 invalid webhook url (key removed); 93004 robot disabled; 93007 / 40001 / 40014 bad key.
  WECOM: [93000, 93004, 93007, 40001, 40014],
};

const short = (s: string, n = 200) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** Reads a vendor response. `retryAfter` is the Retry-After header (seconds), if any. */
export function classifyResponse(kind: RobotKind, status: number, bodyText: string, retryAfter?: string | null): SendOutcome {
  const penalty = kind === 'DINGTALK' ? DINGTALK_PENALTY_MS : WECOM_PENALTY_MS;
  if (status === 429) {
    const s = Number(retryAfter);
    return { kind: 'rateLimited', waitMs: Number.isFinite(s) && s > 0 ? Math.min(s * 1000, 60 * 60_000) : penalty, reason: 'HTTP 429 (rate limited)' };
  }
  if (status >= 500 || status === 408) return { kind: 'retryable', reason: `HTTP ${status}` };
  if (status === 400 || status === 413 || status === 422) return { kind: 'permanent', scope: 'message', reason: `HTTP ${status}` };
  if (status >= 400) return { kind: 'permanent', scope: 'channel', reason: `HTTP ${status}${status === 404 ? ' (robot not found)' : ''}` };
  let body: { errcode?: unknown; errmsg?: unknown };
  try {
    body = JSON.parse(bodyText);
  } catch {
    return { kind: 'retryable', reason: `HTTP ${status}: the answer is not JSON` };
  }
  const code = Number(body?.errcode);
  if (!Number.isInteger(code)) return { kind: 'retryable', reason: `HTTP ${status}: no errcode in the answer` };
  if (code === 0) return { kind: 'ok' };
  const reason = `errcode ${code}: ${short(String(body.errmsg ?? ''))}`;
  if ((kind === 'DINGTALK' && code === 130101) || (kind === 'WECOM' && code === 45009)) return { kind: 'rateLimited', waitMs: penalty, reason };
  if (code === -1) return { kind: 'retryable', reason };
  return { kind: 'permanent', scope: CHANNEL_ERRCODES[kind].includes(code) ? 'channel' : 'message', reason };
}
