// Read caches of the API process: the acting user of a request (every route) and the
// body of GET /api/tasks. Both are what a busy month-end mostly reads again unchanged:
// an inbox is polled, and reloaded on every live event, far more often than its tasks
// change.
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
// cache cannot see change: the countdowns (timeLeftMs, overdue) of a cached inbox.
// Entries are kept in an LRU bounded in bytes (READ_CACHE_MB).
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
  mark: number;
}

export interface ReadCacheOptions<V> {
  ttlMs: number;
  maxBytes: number;
  /** Approximate bytes an entry holds. */
  sizeOf: (value: V) => number;
}

export class ReadCache<V extends object | string> {
  private readonly lru: LRUCache<string, Entry<V>> | null;
  hits = 0;
  misses = 0;

  constructor(
    private readonly invalidations: Invalidations,
    opts: ReadCacheOptions<V>,
  ) {
    this.lru =
      opts.ttlMs > 0 && opts.maxBytes > 0
        ? new LRUCache<string, Entry<V>>({
            ttl: opts.ttlMs,
            maxSize: opts.maxBytes,
            sizeCalculation: (e, k) => Math.max(1, opts.sizeOf(e.value) + k.length * 2 + 64),
          })
        : null;
  }

  /**
   * The value under `key`, from the cache when fresh, else from `load()` (undefined: there
   * is none, and that is not cached); `keys(value)` are the invalidation keys the value
   * depends on. `bypass` reads through (and refreshes).
   */
  async get<L extends V | undefined>(key: string, load: () => Promise<L>, keys: (value: V) => readonly string[], bypass = false): Promise<{ value: L; hit: boolean }> {
    const lru = this.lru;
    if (lru && !bypass) {
      const e = lru.get(key);
      if (e && this.invalidations.fresh(e.mark, e.keys)) {
        this.hits += 1;
        return { value: e.value as L, hit: true };
      }
    }
    this.misses += 1;
    const mark = this.invalidations.mark();
    const value = await load();
    if (lru && value !== undefined) {
      const entry = { value, keys: keys(value), mark };
      // Not stored when a change it depends on was heard while it was read.
      if (this.invalidations.fresh(mark, entry.keys)) lru.set(key, entry);
      else lru.delete(key);
    }
    return { value, hit: false };
  }

  /** Entries held (for tests and diagnostics). */
  get size(): number {
    return this.lru?.size ?? 0;
  }
}
