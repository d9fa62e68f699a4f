// My open tasks (GET /api/tasks), kept fresh by live events (core/events.ts): any task
// change on a transfer I may see reloads the list; tasks that were not there before
// count as new (the nav badge) until opened or marked seen.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../core/api';
import { onEvent } from '../core/events';
import type { MyTask, Page } from '../core/types';

interface State {
  tasks: MyTask[] | null;
  /** How many open tasks the server counts (more than the first page shown), and whether it stopped counting. */
  total?: { n: number; capped: boolean };
  error: unknown;
  newIds: Set<string>;
}
let state: State = { tasks: null, error: null, newIds: new Set() };
let known: Set<string> | null = null;
const listeners = new Set<() => void>();
const emit = () => listeners.forEach((fn) => fn());
let inflight: Promise<void> | null = null;
let again = false;
let subscribers = 0;
let unsubscribe: (() => void) | null = null;

export function reloadTasks(): Promise<void> {
  if (inflight) {
    again = true;
    return inflight;
  }
  inflight = (async () => {
    try {
      const r = await api<Page<MyTask>>('GET', '/api/tasks?pageSize=200');
      const ids = new Set(r.items.map((x) => x.id));
      const newIds = new Set([...state.newIds].filter((id) => ids.has(id)));
      if (known) for (const id of ids) if (!known.has(id)) newIds.add(id);
      known = ids;
      state = { tasks: r.items, total: { n: r.total, capped: !!r.totalCapped }, error: null, newIds };
    } catch (error) {
      state = { ...state, error };
    } finally {
      inflight = null;
      emit();
      if (again) {
        again = false;
        void reloadTasks();
      }
    }
  })();
  return inflight;
}

export function markSeen(id?: string): void {
  const newIds = new Set(state.newIds);
  if (id) newIds.delete(id);
  else newIds.clear();
  state = { ...state, newIds };
  emit();
}

/** Forget everything (logout). */
export function resetTasks(): void {
  state = { tasks: null, error: null, newIds: new Set() };
  known = null;
  emit();
}

let timer: ReturnType<typeof setTimeout> | undefined;
function subscribe(): () => void {
  subscribers++;
  if (subscribers === 1) {
    unsubscribe = onEvent((e) => {
      if (e.type === 'task' || e.type === 'transfer' || e.type === 'hello') {
        clearTimeout(timer);
        timer = setTimeout(() => void reloadTasks(), 150); // a step writes several rows at once
      }
    });
    if (!state.tasks) void reloadTasks();
  }
  return () => {
    subscribers--;
    if (subscribers === 0) {
      unsubscribe?.();
      unsubscribe = null;
    }
  };
}

/** The task list; live while mounted. */
export function useTasks(): State {
  const [, tick] = useState(0);
  useEffect(() => {
    const fn = () => tick((n) => n + 1);
    listeners.add(fn);
    const off = subscribe();
    return () => {
      listeners.delete(fn);
      off();
    };
  }, []);
  return state;
}

/** How many tasks arrived since they were last seen (the nav badge). */
export function useNewTaskCount(): number {
  return useTasks().newIds.size;
}
