// api/read-cache.ts: what makes a cached read stale, without a database.
import { Invalidations, ReadCache } from '../../api/read-cache';

function cache(ttlMs = 60_000, maxBytes = 1 << 20) {
  const inv = new Invalidations();
  inv.listening = true;
  return { inv, c: new ReadCache<string>(inv, { ttlMs, maxBytes, sizeOf: (v) => v.length }) };
}

/** A load that resolves when the test says so. */
function gate() {
  let n = 0;
  const waiting: Array<() => void> = [];
  return {
    load: () =>
      new Promise<string>((resolve) => {
        n += 1;
        const v = `v${n}`;
        waiting.push(() => resolve(v));
      }),
    release: () => waiting.shift()!(),
    get loads() {
      return n;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('ReadCache', () => {
  it('serves an entry until one of its keys is invalidated; other keys do not touch it', async () => {
    const { inv, c } = cache();
    let loads = 0;
    const load = async () => `v${++loads}`;
    expect(await c.get('k', ['u:1', 'G:1'], load)).toEqual({ value: 'v1', state: 'miss' });
    expect(await c.get('k', ['u:1', 'G:1'], load)).toEqual({ value: 'v1', state: 'hit' });
    inv.invalidate('u:2');
    expect((await c.get('k', ['u:1', 'G:1'], load)).state).toBe('hit');
    inv.invalidate('G:1');
    expect(await c.get('k', ['u:1', 'G:1'], load)).toEqual({ value: 'v2', state: 'miss' });
    inv.invalidate('*');
    expect(await c.get('k', ['u:1'], load)).toEqual({ value: 'v3', state: 'miss' });
    expect(await c.get('k', ['u:1'], load)).toEqual({ value: 'v3', state: 'hit' });
    // Cache-Control: no-cache reads through, and keeps what it read.
    expect(await c.get('k', ['u:1'], load, true)).toEqual({ value: 'v4', state: 'miss' });
    expect(await c.get('k', ['u:1'], load)).toEqual({ value: 'v4', state: 'hit' });
  });

  it('does not keep a read during which one of its keys changed', async () => {
    const { inv, c } = cache();
    const racing = async () => {
      inv.invalidate('u:1'); // a change commits while the statement runs
      return 'raced';
    };
    expect(await c.get('k', ['u:1'], racing)).toEqual({ value: 'raced', state: 'miss' });
    expect(c.size).toBe(0);
    expect((await c.get('k', ['u:1'], async () => 'fresh')).value).toBe('fresh');
    expect(await c.get('k', ['u:1'], async () => 'never')).toEqual({ value: 'fresh', state: 'hit' });
  });

  it('shares one read among requests that miss together, unless a key changed since it began', async () => {
    const { inv, c } = cache();
    const g = gate();
    const a = c.get('k', ['u:1'], g.load);
    const b = c.get('k', ['u:1'], g.load);
    g.release();
    expect(await a).toEqual({ value: 'v1', state: 'miss' });
    expect(await b).toEqual({ value: 'v1', state: 'shared' });
    expect(g.loads).toBe(1);
    // A change heard while the shared read runs: the waiting request reads again.
    inv.invalidate('u:1');
    const x = c.get('k', ['u:1'], g.load);
    const y = c.get('k', ['u:1'], g.load);
    inv.invalidate('u:1');
    g.release();
    expect(await x).toEqual({ value: 'v2', state: 'miss' });
    await tick();
    g.release();
    expect(await y).toEqual({ value: 'v3', state: 'miss' });
    expect(g.loads).toBe(3);
  });

  it('serves an entry past its TTL (up to twice it) while one request reads it again', async () => {
    const { c } = cache(40);
    await c.get('k', ['u:1'], async () => 'old');
    await new Promise((r) => setTimeout(r, 50));
    const g = gate();
    const refresh = c.get('k', ['u:1'], g.load);
    expect(await c.get('k', ['u:1'], async () => 'never')).toEqual({ value: 'old', state: 'hit' });
    g.release();
    expect(await refresh).toEqual({ value: 'v1', state: 'miss' });
    expect(await c.get('k', ['u:1'], async () => 'never')).toEqual({ value: 'v1', state: 'hit' });
    // Past twice the TTL, the old entry is not served even while a read runs.
    await new Promise((r) => setTimeout(r, 90));
    const again = c.get('k', ['u:1'], g.load);
    const waiting = c.get('k', ['u:1'], async () => 'never');
    g.release();
    expect(await again).toEqual({ value: 'v2', state: 'miss' });
    expect(await waiting).toEqual({ value: 'v2', state: 'shared' });
  });

  it('serves and keeps nothing while not listening, and nothing from before a gap', async () => {
    const { inv, c } = cache();
    await c.get('k', ['u:1'], async () => 'before');
    inv.listening = false;
    inv.invalidateAll();
    expect(await c.get('k', ['u:1'], async () => 'during')).toEqual({ value: 'during', state: 'miss' });
    expect(await c.get('k', ['u:1'], async () => 'during 2')).toEqual({ value: 'during 2', state: 'miss' });
    inv.listening = true;
    inv.invalidateAll();
    expect(await c.get('k', ['u:1'], async () => 'after')).toEqual({ value: 'after', state: 'miss' });
    expect((await c.get('k', ['u:1'], async () => 'x')).value).toBe('after');
  });

  it('stays within its byte budget', async () => {
    const { c } = cache(60_000, 1000);
    for (let i = 0; i < 50; i++) await c.get(`big${i}`, [], async () => 'x'.repeat(100));
    expect(c.size).toBeGreaterThan(0);
    expect(c.size).toBeLessThan(10);
  });
});
