// One delivery workflow per robot (workflow id `robot:<channelId>`): the only sender to
// that robot, so its budget of 20 messages per rolling minute is kept for every worker at
// once. Deterministic sandbox code: the send times are workflow time, pauses are timers.
//
// Events waiting for the robot form a queue (delivery ids, fed by signals from the
// dispatcher and HQ's retries, and from the database when a run starts or is poked).
// While the queue fits the budget left in the window, each event gets its own message;
// when more wait than the budget allows, they are merged into digests spread over the
// remaining budget (so with fewer than 20 × digest capacity events a minute, nothing
// waits more than about a minute and nothing is dropped). Vendor answers:
// - too fast (DingTalk 130101, WeCom 45009, HTTP 429): pause for the penalty window;
// - 5xx, timeouts, network errors: exponential back-off with jitter, then again;
// - permanent refusals are final (the activity marks the deliveries FAILED and tells HQ).
// The run ends when the robot has been idle for a while (a new event starts a new run)
// and continues as new after a number of sends to keep its history small.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  sleep,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { RobotActivities } from '../activities/robots/activities';

/** Messages per robot in any rolling window of WINDOW_MS (both vendors: 20 a minute). */
export const ROBOT_LIMIT = 20;
export const ROBOT_WINDOW_MS = 60_000;
/** Extra wait past the window: the vendor's clock and ours are not the same clock. */
export const ROBOT_SAFETY_MS = 1_000;
/** Most events one digest carries (the activity also cuts by the vendor's byte limit). */
export const DIGEST_CAPACITY: Record<RobotKind, number> = { DINGTALK: 100, WECOM: 20 };

type RobotKind = 'WECOM' | 'DINGTALK';

export const robotWorkflowId = (channelId: string) => `robot:${channelId}`;

export interface RobotWorkflowInput {
  channelId: string;
  kind: RobotKind;
  /** Carried over by continue-as-new. */
  queue?: string[];
  sentAt?: number[];
  pausedUntil?: number;
  failures?: number;
  /** Load the robot's PENDING deliveries from the database first (default true). */
  refresh?: boolean;
  /** Continue as new after this many requests (default 100). */
  maxSendsPerRun?: number;
  /** Finish after this long with nothing to do (default 5 minutes, never less than the window). */
  idleMs?: number;
}

export interface RobotState {
  queued: number;
  inWindow: number;
  pausedUntil: number;
  failures: number;
  lastError: string | null;
  sends: number;
}

/** New deliveries for the robot (ids), or `refresh`: re-read what waits in the database. */
export const robotEnqueueSignal = defineSignal<[{ ids?: string[]; refresh?: boolean }]>('robotEnqueue');
export const robotStateQuery = defineQuery<RobotState>('robotState');

const { sendRobotMessage, listPendingDeliveries } = proxyActivities<RobotActivities>({
  // The HTTP timeout is 10 s; a retry only happens when an attempt was lost (worker died)
  // or the database failed, and the activity itself refuses to repeat a sent message.
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * How many queued events the next message carries: one each while the queue fits the
 * budget left in the window, else an even share of the queue over the remaining budget,
 * at most `capacity`.
 */
export function batchSize(queued: number, budget: number, capacity: number): number {
  if (queued <= 0 || budget <= 0) return 0;
  if (queued <= budget) return 1;
  return Math.max(1, Math.min(capacity, Math.ceil(queued / budget)));
}

/** Back-off after the n-th consecutive retryable failure: 2 s, 4 s, … up to 2 min, ±50 % jitter. */
export function backoffMs(failures: number, random: number): number {
  const base = Math.min(2_000 * 2 ** Math.max(0, failures - 1), 120_000);
  return Math.round(base * (0.5 + random));
}

export async function robotDeliveryWorkflow(input: RobotWorkflowInput): Promise<{ sends: number; delivered: number }> {
  const { channelId, kind } = input;
  const maxSends = input.maxSendsPerRun ?? 100;
  const idleMs = Math.max(input.idleMs ?? 5 * 60_000, ROBOT_WINDOW_MS + ROBOT_SAFETY_MS);
  const capacity = DIGEST_CAPACITY[kind] ?? 20;

  const queue: string[] = [];
  const queued = new Set<string>();
  const add = (ids: string[], front = false) => {
    const fresh = ids.filter((id) => !queued.has(id));
    for (const id of fresh) queued.add(id);
    if (front) queue.unshift(...fresh);
    else queue.push(...fresh);
  };
  const take = (ids: string[]) => {
    const gone = new Set(ids);
    for (let i = queue.length - 1; i >= 0; i--) if (gone.has(queue[i])) queue.splice(i, 1);
    for (const id of ids) queued.delete(id);
  };
  const clear = () => {
    queue.length = 0;
    queued.clear();
  };

  add(input.queue ?? []);
  /** Workflow time of each request in the current window, oldest first. */
  const sentAt = [...(input.sentAt ?? [])];
  let pausedUntil = input.pausedUntil ?? 0;
  let failures = input.failures ?? 0;
  let refresh = input.refresh ?? true;
  let lastError: string | null = null;
  let sends = 0;
  let delivered = 0;

  const windowStart = () => Date.now() - ROBOT_WINDOW_MS - ROBOT_SAFETY_MS;
  const prune = () => {
    const from = windowStart();
    while (sentAt.length > 0 && sentAt[0] <= from) sentAt.shift();
  };

  setHandler(robotEnqueueSignal, ({ ids, refresh: r }) => {
    if (ids?.length) add(ids);
    if (r) refresh = true;
  });
  setHandler(robotStateQuery, () => {
    prune();
    return { queued: queue.length, inWindow: sentAt.length, pausedUntil, failures, lastError, sends };
  });

  for (;;) {
    if (refresh) {
      refresh = false;
      add(await listPendingDeliveries({ channelId }));
    }
    if (queue.length === 0) {
      // Idle: finish once nothing has come for a while (and the window is empty, so a new
      // run starts with the full budget).
      const lastSend = sentAt.length ? sentAt[sentAt.length - 1] : 0;
      const until = Math.max(Date.now() + idleMs, lastSend + ROBOT_WINDOW_MS + ROBOT_SAFETY_MS, pausedUntil);
      if (await condition(() => queue.length > 0 || refresh, until - Date.now())) continue;
      break;
    }
    if (Date.now() < pausedUntil) {
      await sleep(pausedUntil - Date.now());
      continue;
    }
    prune();
    if (sentAt.length >= ROBOT_LIMIT) {
      await sleep(Math.max(1, sentAt[0] + ROBOT_WINDOW_MS + ROBOT_SAFETY_MS - Date.now()));
      continue;
    }
    if (sends >= maxSends || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      prune();
      await continueAsNew<typeof robotDeliveryWorkflow>({
        channelId,
        kind,
        queue: [...queue],
        sentAt: [...sentAt],
        pausedUntil,
        failures,
        refresh: false,
        maxSendsPerRun: input.maxSendsPerRun,
        idleMs: input.idleMs,
      });
    }

    const size = batchSize(queue.length, ROBOT_LIMIT - sentAt.length, capacity);
    const batch = queue.slice(0, size);
    const r = await sendRobotMessage({ channelId, messageId: uuid4(), deliveryIds: batch });
    take(batch);
    add(r.requeue, true);
    if (r.requested) {
      sentAt.push(Date.now());
      sends++;
    }
    switch (r.outcome) {
      case 'sent':
        delivered += r.sent.length;
        failures = 0;
        lastError = null;
        break;
      case 'rateLimited':
        lastError = r.error ?? 'rate limited';
        pausedUntil = Date.now() + (r.waitMs ?? ROBOT_WINDOW_MS);
        break;
      case 'retryable':
        failures++;
        lastError = r.error ?? 'failed';
        pausedUntil = Date.now() + backoffMs(failures, Math.random());
        break;
      case 'permanent':
        failures = 0;
        lastError = r.error ?? 'refused';
        // The activity failed everything waiting for an unusable robot.
        if (r.scope === 'channel') clear();
        break;
      case 'gone':
        lastError = r.error ?? 'robot removed';
        clear();
        break;
      case 'nothing':
        break;
    }
  }
  await condition(allHandlersFinished);
  return { sends, delivered };
}
