// Live updates: one server-sent-events stream (GET /api/events) per tab, read with
// fetch + a stream reader because EventSource cannot send the Authorization header.
// Reconnects with back-off. onEvent(fn) subscribes; the stream runs while anyone listens.
import { getToken } from './api';

export interface LiveEvent {
  /** 'task' = a task was created or changed on transfer `transferId` */
  type: string;
  transferId?: string;
  [k: string]: unknown;
}

type Handler = (e: LiveEvent) => void;
const handlers = new Set<Handler>();
let controller: AbortController | null = null;
let retry = 1000;
let timer: ReturnType<typeof setTimeout> | undefined;

export function onEvent(fn: Handler): () => void {
  handlers.add(fn);
  if (!controller && timer === undefined) void connect();
  return () => {
    handlers.delete(fn);
    if (handlers.size === 0) stop();
  };
}

/** Stops the stream (logout). */
export function stop(): void {
  clearTimeout(timer);
  timer = undefined;
  controller?.abort();
  controller = null;
}

function dispatch(data: string): void {
  try {
    const e = JSON.parse(data) as LiveEvent;
    handlers.forEach((fn) => fn(e));
  } catch {
    /* not ours */
  }
}

async function connect(): Promise<void> {
  const token = getToken();
  if (!token || handlers.size === 0) return;
  const c = new AbortController();
  controller = c;
  try {
    const res = await fetch('/api/events', { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: c.signal });
    if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
    retry = 1000;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const chunk = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = chunk
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (data) dispatch(data);
      }
    }
  } catch {
    /* dropped or refused: retry below */
  }
  if (controller !== c) return; // stopped or replaced
  controller = null;
  timer = setTimeout(() => {
    timer = undefined;
    void connect();
  }, retry);
  retry = Math.min(retry * 2, 30_000);
}
