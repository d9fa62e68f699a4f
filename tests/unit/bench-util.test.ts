import { intEnv } from '../../bench/lib/util';

describe('bench sizes from env vars (intEnv)', () => {
  const name = `BENCH_TEST_SIZE_${process.pid}`;
  afterEach(() => {
    delete process.env[name];
  });

  it('takes the default when unset or empty, and reads underscores as digit separators', () => {
    expect(intEnv(name, 200)).toBe(200);
    process.env[name] = '';
    expect(intEnv(name, 200)).toBe(200);
    process.env[name] = '10_000';
    expect(intEnv(name, 200)).toBe(10_000);
  });

  it('accepts 0 only where a size may be skipped (min 0), as E2E_LIGHT_TRANSFERS=0 is documented to', () => {
    process.env[name] = '0';
    expect(intEnv(name, 200, 0)).toBe(0);
    expect(() => intEnv(name, 200)).toThrow(`${name} must be an integer ≥ 1, got "0"`);
  });

  it('names the variable and the value it refuses', () => {
    for (const bad of ['-3', '2.5', 'lots']) {
      process.env[name] = bad;
      expect(() => intEnv(name, 200, 0)).toThrow(`${name} must be an integer ≥ 0, got "${bad}"`);
    }
  });
});
