// Robot messages, rendered from notification events. Pure code (no I/O): the activity
// loads the data, this file turns it into the vendor's JSON body within its size limit.
//
// One event → one message that says what happened, the transfer (parties, amount and
// currency, period, document number), the time left or how long it is overdue, and a link
// into the inbox. Several events → one digest listing every event on its own line.
// Chinese by default, English per channel. Escalations @-mention people by mobile.
import { SIZE_LIMITS, utf8Bytes, type RobotKind } from './vendor';

export type Language = 'zh' | 'en';

export interface Party {
  code: string;
  name: string;
}

export interface TransferInfo {
  id: string;
  /** The sender's document number. */
  ref: string;
  type: string;
  sender: Party;
  receiver: Party;
  /** Exact decimal string, 2 decimals. */
  amount: string;
  currency: string;
  period: string;
  /** Current deadline (ISO). */
  dueAt: string | null;
  status: string;
}

export interface RenderItem {
  eventId: string;
  kind: string;
  transfer: TransferInfo | null;
  /** The entity an entity-level event is about (payment freezes, robot failures). */
  entity: Party | null;
  payload: Record<string, unknown>;
  /** Mobiles to @-mention (escalations). */
  mobiles: string[];
}

export interface RenderContext {
  vendor: RobotKind;
  language: Language;
  /** DingTalk custom keywords: the message must contain them. */
  keywords: string[];
  /** PUBLIC_URL: base of inbox links. */
  baseUrl: string;
  /** When the message is sent (ms): time left / overdue is computed against it. */
  now: number;
  /** The group's time zone, for deadlines. */
  timezone: string;
  messageId: string;
}

export interface RenderedMessage {
  /** The JSON body to POST. */
  body: Record<string, unknown>;
  /** The text that counts against the vendor's limit. */
  text: string;
  bytes: number;
  limit: number;
  mobiles: string[];
}

type Texts = { zh: string; en: string };

const KIND_LABELS: Record<string, Texts> = {
  TASK_ASSIGNED: { zh: '待确认', en: 'To confirm' },
  REMINDER: { zh: '确认提醒', en: 'Reminder' },
  ESCALATED: { zh: '已升级', en: 'Escalated' },
  TASK_RETURNED: { zh: '已退回', en: 'Returned' },
  TASK_DELEGATED: { zh: '委派给你', en: 'Delegated to you' },
  TASK_TRANSFERRED: { zh: '转办给你', en: 'Handed over to you' },
  TRANSFER_CONFIRMED: { zh: '已确认', en: 'Confirmed' },
  TRANSFER_REJECTED: { zh: '已拒绝', en: 'Rejected' },
  TRANSFER_DISPUTED: { zh: '有争议', en: 'Disputed' },
  TRANSFER_WITHDRAWN: { zh: '已撤回', en: 'Withdrawn' },
  TRANSFER_RESOLVED: { zh: '已裁决', en: 'Decided by HQ' },
  TRANSFER_CORRECTED: { zh: '发送方已更正', en: 'Corrected by the sender' },
  TRANSFER_ROLLED_FORWARD: { zh: '已结转下期', en: 'Rolled forward' },
  DISPUTE_OPENED: { zh: '争议待裁决', en: 'Dispute opened' },
  DISPUTE_SETTLED: { zh: '争议已解决', en: 'Dispute settled' },
  ARBITRATION_REQUIRED: { zh: '待裁决', en: 'To arbitrate' },
  ARBITRATION_REMINDER: { zh: '裁决提醒', en: 'Arbitration reminder' },
  ARBITRATION_OVERDUE: { zh: '裁决已逾期', en: 'Arbitration overdue' },
  PAYMENTS_FROZEN: { zh: '付款已冻结', en: 'Payments frozen' },
  PAYMENTS_UNFROZEN: { zh: '付款已解冻', en: 'Payments unfrozen' },
  ROBOT_FAILED: { zh: '机器人发送失败', en: 'Robot delivery failed' },
};

/** Kinds about something someone must still do: they show the deadline. */
const WITH_DEADLINE = new Set([
  'TASK_ASSIGNED',
  'REMINDER',
  'ESCALATED',
  'TASK_RETURNED',
  'TASK_DELEGATED',
  'TASK_TRANSFERRED',
  'ARBITRATION_REQUIRED',
  'ARBITRATION_REMINDER',
  'ARBITRATION_OVERDUE',
]);

const TYPE_LABELS: Record<string, Texts> = {
  GOODS: { zh: '货物', en: 'goods' },
  SERVICE: { zh: '服务', en: 'service' },
  LOAN: { zh: '借款', en: 'loan' },
  COST_ALLOCATION: { zh: '费用分摊', en: 'cost allocation' },
};
const FIELD_LABELS: Record<string, Texts> = {
  quantity: { zh: '数量', en: 'quantity' },
  unitPrice: { zh: '单价', en: 'unit price' },
  amount: { zh: '金额', en: 'amount' },
  date: { zh: '日期', en: 'date' },
};
const DECISIONS: Record<string, Texts> = {
  UPHOLD_SENDER: { zh: '维持发送方数据', en: "upheld the sender's figures" },
  UPHOLD_RECEIVER: { zh: '维持接收方数据', en: "upheld the receiver's figures" },
  ADJUST: { zh: '调整为裁定数据', en: 'set adjusted figures' },
};

const T = {
  digestTitle: { zh: (n: number) => `内部往来通知汇总（${n} 条）`, en: (n: number) => `Intercompany notifications (${n})` },
  transfer: { zh: '内部往来', en: 'Transfer' },
  type: { zh: '类型', en: 'Type' },
  amount: { zh: '金额', en: 'Amount' },
  period: { zh: '期间', en: 'Period' },
  due: { zh: '截止', en: 'Due' },
  view: { zh: '在收件箱中查看', en: 'Open in the inbox' },
  viewShort: { zh: '查看', en: 'open' },
  messageId: { zh: '消息编号', en: 'Message' },
  left: { zh: (d: string) => `剩余 ${d}`, en: (d: string) => `${d} left` },
  overdue: { zh: (d: string) => `已逾期 ${d}`, en: (d: string) => `overdue by ${d}` },
  escalatedTo: {
    zh: (level: number) => (level >= 2 ? '已升级至集团财务（HQ），请尽快处理' : '已升级至接收方主管，请尽快处理'),
    en: (level: number) => (level >= 2 ? 'Escalated to HQ finance: please act now' : "Escalated to the receiver's supervisor: please act now"),
  },
};

// ---- formatting helpers -------------------------------------------------------------

/** `8000.5` → `8,000.50` (exact: string arithmetic only). */
export function formatAmount(amount: string): string {
  const neg = amount.startsWith('-');
  const [int, frac = ''] = (neg ? amount.slice(1) : amount).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${neg ? '-' : ''}${grouped}.${frac.padEnd(2, '0')}`;
}

/** A duration in hours and minutes (days and hours from 72 hours on), the two largest units. */
export function formatDuration(ms: number, lang: Language): string {
  const min = Math.max(1, Math.floor(Math.abs(ms) / 60_000));
  const d = Math.floor(min / 1440);
  const h = min >= 72 * 60 ? Math.floor((min % 1440) / 60) : Math.floor(min / 60);
  const m = min % 60;
  const u = lang === 'zh' ? { d: ' 天', h: ' 小时', m: ' 分钟' } : { d: ' d', h: ' h', m: ' min' };
  if (min >= 72 * 60) return `${d}${u.d}${h > 0 ? ` ${h}${u.h}` : ''}`;
  if (h > 0) return `${h}${u.h}${m > 0 ? ` ${m}${u.m}` : ''}`;
  return `${m}${u.m}`;
}

/** `2026-11-24 18:00` in the group's time zone. */
export function formatTime(iso: string, timezone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** "剩余 3 小时" / "已逾期 2 天 1 小时". */
export function timeLeft(dueAt: string, now: number, lang: Language): string {
  const ms = new Date(dueAt).getTime() - now;
  return ms >= 0 ? T.left[lang](formatDuration(ms, lang)) : T.overdue[lang](formatDuration(ms, lang));
}

/** Free text from users, on one line, without Markdown that could break the message. */
function clean(value: unknown, max = 200): string {
  const s = String(value ?? '')
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[<>`]/g, '')
    .trim();
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function label(kind: string, lang: Language): string {
  return KIND_LABELS[kind]?.[lang] ?? kind;
}

function base(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Where the item lives in the inbox. */
export function itemLink(item: RenderItem, baseUrl: string): string {
  if (item.transfer) return `${base(baseUrl)}/#/transfers/${item.transfer.id}`;
  if (item.kind === 'ROBOT_FAILED') return `${base(baseUrl)}/#/notifications?status=FAILED`;
  if (item.entity) return `${base(baseUrl)}/#/entities/${encodeURIComponent(item.entity.code)}`;
  return `${base(baseUrl)}/#/`;
}

function dueOf(item: RenderItem): string | null {
  if (!WITH_DEADLINE.has(item.kind)) return null;
  const fromPayload = typeof item.payload.dueAt === 'string' ? item.payload.dueAt : null;
  return fromPayload ?? item.transfer?.dueAt ?? null;
}

const party = (p: Party) => `${p.code} ${clean(p.name, 40)}`;

/** One sentence on what happened (beyond the label), or null. */
export function detail(item: RenderItem, lang: Language): string | null {
  const p = item.payload;
  const zh = lang === 'zh';
  switch (item.kind) {
    case 'TASK_ASSIGNED':
      return zh ? '请核对并确认这笔内部往来。' : 'Please check and confirm this intercompany transfer.';
    case 'REMINDER':
      return zh ? '确认截止时间临近，请尽快处理。' : 'The confirmation deadline is near.';
    case 'ESCALATED':
      return T.escalatedTo[lang](Number(p.escalationLevel ?? 1));
    case 'TASK_RETURNED':
      return zh ? `审批退回（${clean(p.opinion, 40)}）` : `Returned by the approver (${clean(p.opinion, 40)})`;
    case 'TASK_DELEGATED':
    case 'TASK_TRANSFERRED':
      return p.from ? (zh ? `来自 ${clean(p.from, 60)}` : `From ${clean(p.from, 60)}`) : null;
    case 'TRANSFER_WITHDRAWN':
      return p.reason ? (zh ? `原因：${clean(p.reason)}` : `Reason: ${clean(p.reason)}`) : null;
    case 'TRANSFER_RESOLVED': {
      const d = DECISIONS[String(p.decision)]?.[lang] ?? clean(p.decision, 40);
      const amount = (p.binding as { amount?: string } | undefined)?.amount;
      const money = amount && item.transfer ? `${formatAmount(String(amount))} ${item.transfer.currency}` : null;
      return zh
        ? `集团财务${d}${money ? `，确认金额 ${money}` : ''}。理由：${clean(p.rationale)}`
        : `HQ ${d}${money ? ` (binding amount ${money})` : ''}. Rationale: ${clean(p.rationale)}`;
    }
    case 'TRANSFER_DISPUTED':
    case 'DISPUTE_OPENED':
    case 'TRANSFER_CORRECTED':
    case 'TRANSFER_CONFIRMED': {
      const diffs = Array.isArray(p.differences) ? (p.differences as Array<{ field?: string; senderValue?: unknown; receiverValue?: unknown }>) : [];
      if (diffs.length === 0) return item.kind === 'DISPUTE_OPENED' ? (zh ? '请集团财务裁决。' : 'HQ finance must arbitrate.') : null;
      const list = diffs
        .slice(0, 4)
        .map((d) => `${FIELD_LABELS[d.field ?? '']?.[lang] ?? clean(d.field, 20)} ${clean(d.senderValue, 30)} → ${clean(d.receiverValue, 30)}`)
        .join(zh ? '；' : '; ');
      return zh ? `差异：${list}` : `Differences: ${list}`;
    }
    case 'DISPUTE_SETTLED':
      return p.by ? (zh ? `解决方式：${clean(p.by, 60)}` : `Settled by ${clean(p.by, 60)}`) : null;
    case 'TRANSFER_ROLLED_FORWARD':
      return zh ? `期间 ${clean(p.from, 10)} 已冻结，结转至 ${clean(p.to, 10)}` : `Period ${clean(p.from, 10)} frozen: moved to ${clean(p.to, 10)}`;
    case 'PAYMENTS_FROZEN': {
      const n = Array.isArray(p.transfers) ? p.transfers.length : 0;
      const who = item.entity ? party(item.entity) : clean(p.code, 40);
      return zh ? `${who} 的付款申请已冻结：${n} 笔内部往来逾期未确认，清理后自动解冻。` : `Payment requests of ${who} are frozen: ${n} transfer(s) overdue and unconfirmed; cleared automatically once they are dealt with.`;
    }
    case 'PAYMENTS_UNFROZEN': {
      const who = item.entity ? party(item.entity) : '';
      return zh ? `${who} 的付款申请已解冻。` : `Payment requests of ${who} are no longer frozen.`;
    }
    case 'ROBOT_FAILED':
      return zh
        ? `机器人「${clean(p.channelName, 60)}」（${clean(p.entityCode, 32)}）无法发送：${clean(p.reason)}。${Number(p.failedEvents ?? 0)} 条通知未送达，请检查机器人设置后在通知列表中重试。`
        : `Robot "${clean(p.channelName, 60)}" (${clean(p.entityCode, 32)}) cannot send: ${clean(p.reason)}. ${Number(p.failedEvents ?? 0)} notification(s) not delivered: check the robot, then retry them from the notification list.`;
    default:
      return null;
  }
}

// ---- messages -----------------------------------------------------------------------

interface Style {
  /** Markdown (DingTalk, WeCom markdown) or plain text (WeCom text, used to @-mention by mobile). */
  markdown: boolean;
}

function heading(text: string, s: Style, level = 3): string {
  return s.markdown ? `${'#'.repeat(level)} ${text}` : text;
}
function bold(text: string, s: Style): string {
  return s.markdown ? `**${text}**` : text;
}
function link(text: string, url: string, s: Style): string {
  return s.markdown ? `[${text}](${url})` : `${text}: ${url}`;
}

function single(item: RenderItem, ctx: RenderContext, s: Style): { title: string; lines: string[] } {
  const lang = ctx.language;
  const t = item.transfer;
  const title = `【${label(item.kind, lang)}】${t ? `${T.transfer[lang]} ${clean(t.ref, 60)}` : item.entity ? item.entity.code : ''}`.trim();
  const lines: string[] = [heading(title, s)];
  if (t) {
    lines.push(bold(`${party(t.sender)} → ${party(t.receiver)}`, s));
    const facts = [
      `${T.type[lang]}${lang === 'zh' ? '：' : ': '}${TYPE_LABELS[t.type]?.[lang] ?? t.type}`,
      `${T.amount[lang]}${lang === 'zh' ? '：' : ': '}${formatAmount(t.amount)} ${t.currency}`,
      `${T.period[lang]}${lang === 'zh' ? '：' : ': '}${t.period}`,
    ];
    const due = dueOf(item);
    if (due) {
      const left = timeLeft(due, ctx.now, lang);
      facts.push(`${T.due[lang]}${lang === 'zh' ? '：' : ': '}${formatTime(due, ctx.timezone)}${lang === 'zh' ? `（${left}）` : ` (${left})`}`);
    }
    lines.push(facts.map((f) => `- ${f}`).join('\n'));
  }
  const d = detail(item, lang);
  if (d) lines.push(d);
  lines.push(link(T.view[lang], itemLink(item, ctx.baseUrl), s));
  return { title, lines };
}

function digestLine(item: RenderItem, i: number, ctx: RenderContext, s: Style): string {
  const lang = ctx.language;
  const t = item.transfer;
  const parts = [`${i + 1}. 【${label(item.kind, lang)}】`];
  if (t) {
    parts.push(`${clean(t.ref, 40)} · ${t.sender.code}→${t.receiver.code} · ${formatAmount(t.amount)} ${t.currency} · ${t.period}`);
    const due = dueOf(item);
    if (due) parts.push(` · ${timeLeft(due, ctx.now, lang)}`);
    if (item.kind === 'ESCALATED') parts.push(` · ${lang === 'zh' ? (Number(item.payload.escalationLevel) >= 2 ? '至 HQ' : '至主管') : Number(item.payload.escalationLevel) >= 2 ? 'to HQ' : 'to supervisor'}`);
  } else {
    const d = detail(item, lang);
    parts.push(clean(d ?? item.entity?.code ?? '', 160));
  }
  return `${parts.join('')} ${link(T.viewShort[lang], itemLink(item, ctx.baseUrl), s)}`;
}

function footer(ctx: RenderContext, mobiles: string[], s: Style, withAt: boolean): string[] {
  const out: string[] = [];
  if (withAt && mobiles.length) out.push(mobiles.map((m) => `@${m}`).join(' '));
  if (ctx.keywords.length) out.push(ctx.keywords.join(' '));
  out.push(s.markdown ? `###### ${T.messageId[ctx.language]} ${ctx.messageId}` : `${T.messageId[ctx.language]} ${ctx.messageId}`);
  return out;
}

/** Renders items (one → a single message, several → a digest) into the vendor's body. */
export function renderMessage(items: RenderItem[], ctx: RenderContext): RenderedMessage {
  if (items.length === 0) throw new Error('nothing to render');
  const mobiles = [...new Set(items.flatMap((i) => i.mobiles))].slice(0, 50);
  // WeCom's markdown cannot @-mention by mobile: a message that mentions is sent as text.
  const wecomText = ctx.vendor === 'WECOM' && mobiles.length > 0;
  const s: Style = { markdown: !wecomText };
  let title: string;
  let lines: string[];
  if (items.length === 1) {
    ({ title, lines } = single(items[0], ctx, s));
  } else {
    title = T.digestTitle[ctx.language](items.length);
    lines = [heading(title, s), items.map((it, i) => digestLine(it, i, ctx, s)).join('\n')];
  }
  lines.push(...footer(ctx, mobiles, s, ctx.vendor === 'DINGTALK'));
  const text = lines.join('\n\n');
  if (ctx.vendor === 'DINGTALK') {
    return {
      body: { msgtype: 'markdown', markdown: { title, text }, at: { atMobiles: mobiles, isAtAll: false } },
      text,
      bytes: utf8Bytes(text),
      limit: SIZE_LIMITS.DINGTALK_MARKDOWN,
      mobiles,
    };
  }
  if (wecomText) {
    return {
      body: { msgtype: 'text', text: { content: text, mentioned_mobile_list: mobiles } },
      text,
      bytes: utf8Bytes(text),
      limit: SIZE_LIMITS.WECOM_TEXT,
      mobiles,
    };
  }
  return { body: { msgtype: 'markdown', markdown: { content: text } }, text, bytes: utf8Bytes(text), limit: SIZE_LIMITS.WECOM_MARKDOWN, mobiles };
}

/**
 * The longest prefix of `items` whose message fits the vendor's limit, and that message.
 * One item always fits (its text is cut at the limit if it must be).
 */
export function fitMessage(items: RenderItem[], ctx: RenderContext): { message: RenderedMessage; count: number } {
  const all = renderMessage(items, ctx);
  if (all.bytes <= all.limit) return { message: all, count: items.length };
  let lo = 1;
  let hi = items.length - 1;
  let best: RenderedMessage | null = null;
  let bestCount = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = renderMessage(items.slice(0, mid), ctx);
    if (m.bytes <= m.limit) {
      best = m;
      bestCount = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (best) return { message: best, count: bestCount };
  return { message: truncated(renderMessage(items.slice(0, 1), ctx)), count: 1 };
}

/** Cuts an oversized single message at the limit (on a character boundary). */
function truncated(m: RenderedMessage): RenderedMessage {
  const ell = '…';
  let text = m.text;
  while (utf8Bytes(text) + utf8Bytes(ell) > m.limit) text = text.slice(0, Math.max(0, text.length - Math.ceil((utf8Bytes(text) - m.limit) / 3) - 1));
  text += ell;
  const body = JSON.parse(JSON.stringify(m.body)) as Record<string, Record<string, unknown>>;
  if (body.markdown && 'text' in body.markdown) body.markdown.text = text;
  else if (body.markdown) body.markdown.content = text;
  else if (body.text) body.text.content = text;
  return { ...m, body, text, bytes: utf8Bytes(text) };
}
