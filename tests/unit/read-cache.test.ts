// api/read-cache.ts: what makes a cached read stale, without a database.
import { Invalidations, ReadCache } from '../../api/read-cache';

function cache(ttlMs = 60_000, maxBytes = 1 << 20) {
  const inv = new Invalidations();
  inv.listening = true;
  return { inv, c: new ReadCache<string>(inv, { ttlMs, maxBytes, sizeOf: (v) => v.length }) };
}

describe('ReadCache', () => {
  it('serves an entry until one of its keys is invalidated; other keys do not touch it', async () => {
    const { inv, c } = cache();
    let loads = 0;
    const load = async () => `v${++loads}`;
    expect(await c.get('k', load, () => ['u:1', 'G:1'])).toEqual({ value: 'v1', hit: false });
    expect(await c.get('k', load, () => ['u:1', 'G:1'])).toEqual({ value: 'v1', hit: true });
    inv.invalidate('u:2');
    expect((await c.get('k', load, () => ['u:1', 'G:1'])).hit).toBe(true);
    inv.invalidate('G:1');
    expect(await c.get('k', load, () => ['u:1', 'G:1'])).toEqual({ value: 'v2', hit: false });
    inv.invalidate('*');
    expect(await c.get('k', load, () => ['u:1'])).toEqual({ value: 'v3', hit: false });
    expect(await c.get('k', load, () => ['u:1'])).toEqual({ value: 'v3', hit: true });
  });

  it('does not keep a read during which one of its keys changed', async () => {
    const { inv, c } = cache();
    let loads = 0;
    const racing = async () => {
      loads += 1;
      inv.invalidate('u:1'); // a change commits while the statement runs
      return `v${loads}`;
    };
    expect((await c.get('k', racing, () => ['u:1'])).hit).toBe(false);
    expect(c.size).toBe(0);
    expect((await c.get('k', async () => 'fresh', () => ['u:1'])).value).toBe('fresh');
    expect(await c.get('k', async () => 'never', () => ['u:1'])).toEqual({ value: 'fresh', hit: true });
  });

  it('serves and keeps nothing while not listening, and nothing from before a gap', async () => {
    const { inv, c } = cache();
    await c.get('k', async () => 'before', () => ['u:1']);
    inv.listening = false;
    inv.invalidateAll();
    expect(await c.get('k', async () => 'during', () => ['u:1'])).toEqual({ value: 'during', hit: false });
    expect(await c.get('k', async () => 'during 2', () => ['u:1'])).toEqual({ value: 'during 2', hit: false });
    inv.listening = true;
    inv.invalidateAll();
    expect(await c.get('k', async () => 'after', () => ['u:1'])).toEqual({ value: 'after', hit: false });
    expect((await c.get('k', async () => 'x', () => ['u:1'])).value).toBe('after');
  });

  it('does not cache "none", expires after its TTL, and stays within its byte budget', async () => {
    const { c } = cache(30, 1000);
    expect(await c.get<string | undefined>('none', async () => undefined, () => [])).toEqual({ value: undefined, hit: false });
    expect(c.size).toBe(0);
    await c.get('k', async () => 'v', () => []);
    expect((await c.get('k', async () => 'w', () => [])).hit).toBe(true);
    await new Promise((r) => setTimeout(r, 60));
    expect(await c.get('k', async () => 'w', () => [])).toEqual({ value: 'w', hit: false });
    for (let i = 0; i < 50; i++) await c.get(`big${i}`, async () => 'x'.repeat(100), () => []);
    expect(c.size).toBeLessThan(10);
  });
});
