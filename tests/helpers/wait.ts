// Polling for end-to-end tests: wait until a condition holds (workflows act asynchronously).
export async function until<T>(fn: () => Promise<T | undefined | null | false>, ms = 30_000, every = 150): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, every));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
