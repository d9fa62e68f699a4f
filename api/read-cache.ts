// The read cache of the API process, for the body of GET /api/tasks: what a busy month-end
// mostly reads again unchanged (an inbox is polled, and reloaded on every live event, far
// more often than its tasks change). The acting user is not cached (plugins/auth.ts): a
// disabled user must be refused by the next request after the change commits, which only
// the database can promise.
//
// Correctness comes from invalidation, not from the TTL. Triggers send, on commit, the
// keys a change touches (migration read_cache_invalidation; api/plugins/change-feed.ts
// hears them). Each entry names the keys it depends on and the sequence number of the
// invalidations heard when its read began: it is served only while none of its keys has
// been invalidated since. So a change that commits while an entry is being read makes that
// entry stale at once. The window left is the notification's own trip (sub-millisecond on
// one host), and the API's own actions close it for their actor (invalidated before the
// response goes out).
//
// Nothing is served while the change feed is down (notifications would be missed), and
// everything is dropped when it comes back. The TTL (READ_CACHE_TTL_MS) bounds what the
// cache cannot see change: the countdowns (timeLeftMs, overdue) of a cached inbox. Past
// it, one request reads again while the others are still served the entry (up to twice
// the TTL), and requests that miss together share one read: neither an expiry nor an
// invalidation sends every waiting request to the database at once. Entries are kept in
// an LRU bounded in bytes (READ_CACHE_MB).
import { LRUCache } from 'lru-cache';

/** What has been invalidated, by key, in the order heard (shared by every cache of a process). */
export class Invalidations {
  private seq = 0;
  private allSeq = 0;
  private readonly byKey = new Map<string, number>();
  /** The feed is up: invalidations are being heard. */
  listening = false;

  /** A key's entries are stale from now on ('*': every entry). */
  invalidate(key: string): void {
    this.seq += 1;
    if (key === '*') this.allSeq = this.seq;
    else this.byKey.set(key, this.seq);
  }

  /** Every entry is stale (the feed went down, or came back after a gap). */
  invalidateAll(): void {
    this.invalidate('*');
  }

  /** The mark a read takes before it starts. */
  mark(): number {
    return this.seq;
  }

  /** Nothing the entry depends on was invalidated since `mark`. */
  fresh(mark: number, keys: readonly string[]): boolean {
    if (!this.listening || mark < this.allSeq) return false;
    for (const k of keys) if ((this.byKey.get(k) ?? 0) > mark) return false;
    return true;
  }
}

interface Entry<V> {
  value: V;
  keys: readonly string[];
  /** The invalidations heard when its read began. */
  mark: number;
  /** When its read began (ms since the epoch). */
  at: number;
}

interface Loading<V> {
  mark: number;
  promise: Promise<V>;
}

export interface ReadCacheOptions<V> {
  ttlMs: number;
  maxBytes: number;
  /** Approximate bytes an entry holds. */
  sizeOf: (value: V) => number;
}

/** hit: from memory; shared: from a read another request had begun; miss: read for this request. */
export type CacheState = 'hit' | 'shared' | 'miss';

export class ReadCache<V extends object | string> {
  private readonly lru: LRUCache<string, Entry<V>> | null;
  private readonly loading = new Map<string, Loading<V>>();
  private readonly ttlMs: number;

  constructor(
    private readonly invalidations: Invalidations,
    opts: ReadCacheOptions<V>,
  ) {
    this.ttlMs = opts.ttlMs;
    this.lru =
      opts.ttlMs > 0 && opts.maxBytes > 0
        ? new LRUCache<string, Entry<V>>({
            maxSize: opts.maxBytes,
            sizeCalculation: (e, k) => Math.max(1, opts.sizeOf(e.value) + k.length * 2 + 64),
          })
        : null;
  }

  /**
   * The value under `key`, from the cache when fresh, else from `load()`; `keys` are the
   * invalidation keys the value depends on. `bypass` reads through (and refreshes).
   *
   * Requests that miss together share one read (when none of its keys changed since it
   * began). An entry past its TTL but not invalidated is still served, up to twice the TTL,
   * while one request reads it again: expiry never sends every request to the database
   * at once.
   */
  async get(key: string, keys: readonly string[], load: () => Promise<V>, bypass = false): Promise<{ value: V; state: CacheState }> {
    const lru = this.lru;
    if (!lru) {
      return { value: await load(), state: 'miss' };
    }
    const inv = this.invalidations;
    if (!bypass) {
      const e = lru.get(key);
      if (e && inv.fresh(e.mark, e.keys)) {
        const age = Date.now() - e.at;
        if (age <= this.ttlMs || (age <= 2 * this.ttlMs && this.loading.has(key))) {
          return { value: e.value, state: 'hit' };
        }
      }
      const pending = this.loading.get(key);
      if (pending) {
        const value = await pending.promise;
        if (inv.fresh(pending.mark, keys)) {
          return { value, state: 'shared' };
        }
      }
    }
    const mark = inv.mark();
    const at = Date.now();
    const promise = load();
    const mine: Loading<V> = { mark, promise };
    this.loading.set(key, mine);
    try {
      const value = await promise;
      // Not stored when a change it depends on was heard while it was read.
      if (inv.fresh(mark, keys)) {
        const held = lru.get(key);
        if (!held || held.mark <= mark) lru.set(key, { value, keys, mark, at });
      } else lru.delete(key);
      return { value, state: 'miss' };
    } finally {
      if (this.loading.get(key) === mine) this.loading.delete(key);
    }
  }

  /** Entries held (for tests and diagnostics). */
  get size(): number {
    return this.lru?.size ?? 0;
  }
}
