import { describe, it, expect } from 'vitest';
import { WriteBehind } from '../src/pipeline/write-behind.js';
import { AbortedError } from '../src/errors.js';

/** A backend whose writes finish only when the test says so, recording what landed where. */
function gatedBackend() {
  const stored = new Map<number, Buffer>();
  const pending: { offset: number; finish: (err?: Error) => void }[] = [];
  let running = 0;
  let peak = 0;
  const writeAt = (offset: number, data: Buffer) =>
    new Promise<void>((resolve, reject) => {
      running++;
      peak = Math.max(peak, running);
      pending.push({
        offset,
        finish: (err) => {
          running--;
          if (err) return reject(err);
          stored.set(offset, Buffer.from(data));
          resolve();
        },
      });
    });
  return { stored, pending, writeAt, running: () => running, peak: () => peak };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('write-behind', () => {
  it('stores every chunk at its offset, whatever order the writes finish in', async () => {
    const b = gatedBackend();
    const w = new WriteBehind(b.writeAt, { inFlight: 3 });
    const chunks = [0, 1, 2, 3, 4, 5].map((i) => Buffer.alloc(4, i));
    // Finish writes newest first, as a backend with several requests in flight may.
    const finisher = setInterval(() => b.pending.pop()?.finish(), 1);
    try {
      for (const [i, c] of chunks.entries()) await w.write(i * 4, c);
      await w.drain();
    } finally {
      clearInterval(finisher);
    }
    expect([...b.stored.keys()].sort((x, y) => x - y)).toEqual([0, 4, 8, 12, 16, 20]);
    expect(Buffer.concat([...b.stored.entries()].sort(([x], [y]) => x - y).map(([, d]) => d))).toEqual(Buffer.concat(chunks));
  });

  it('never has more writes in flight than its bound, and waits for a slot', async () => {
    const b = gatedBackend();
    const w = new WriteBehind(b.writeAt, { inFlight: 2 });
    await w.write(0, Buffer.alloc(1));
    let third = false;
    const second = w.write(1, Buffer.alloc(1)).then(() => (third = true));
    await tick();
    expect(b.running()).toBe(2);
    expect(third).toBe(false); // the bound is reached: the caller waits, the source is not read further
    b.pending.shift()!.finish();
    await second;
    expect(third).toBe(true);
    const fourth = w.write(2, Buffer.alloc(1));
    await tick();
    expect(b.running()).toBe(2);
    while (b.running() > 0) {
      b.pending.shift()?.finish();
      await tick();
    }
    await fourth;
    await w.drain();
    expect(b.peak()).toBe(2);
  });

  it('lets the first error win, starts no write after it, and settles every write before rejecting', async () => {
    const b = gatedBackend();
    const w = new WriteBehind(b.writeAt, { inFlight: 3 });
    await w.write(0, Buffer.alloc(1));
    await w.write(1, Buffer.alloc(1));
    const first = new Error('first');
    b.pending[0]!.finish(first);
    await tick();
    let rejected = false;
    const next = w.write(2, Buffer.alloc(1)).catch((err: unknown) => {
      rejected = true;
      // Settled before the rejection: nothing is still running when the caller cleans up.
      expect(b.running()).toBe(0);
      return err;
    });
    await tick();
    expect(rejected).toBe(false); // still waiting for the write in flight
    b.pending[1]!.finish(new Error('second'));
    expect(await next).toBe(first);
    expect(b.pending).toHaveLength(2); // no write was started after the failure
    await expect(w.drain()).rejects.toBe(first);
    await expect(w.write(3, Buffer.alloc(1))).rejects.toBe(first);
    expect(b.pending).toHaveLength(2);
  });

  it('rejects an undefined failure too', async () => {
    const w = new WriteBehind(() => Promise.reject(undefined), { inFlight: 1 });
    const settled = await w.write(0, Buffer.alloc(1)).then(() => 'resolved', () => 'rejected');
    expect(settled).toBe('rejected');
    await expect(w.drain()).rejects.toBeUndefined();
  });

  it('stops on abort: no new write, the abort reason once the writes in flight have settled', async () => {
    const b = gatedBackend();
    const ac = new AbortController();
    const w = new WriteBehind(b.writeAt, { inFlight: 4, signal: ac.signal });
    await w.write(0, Buffer.alloc(1));
    const reason = new AbortedError('stopped');
    ac.abort(reason);
    let rejected = false;
    const next = w.write(1, Buffer.alloc(1)).catch((err: unknown) => {
      rejected = true;
      return err;
    });
    await tick();
    expect(rejected).toBe(false);
    expect(b.pending).toHaveLength(1);
    b.pending[0]!.finish();
    expect(await next).toBe(reason);
    expect(b.pending).toHaveLength(1);
    // A later write failure does not replace the abort: the first error wins.
    await expect(w.drain()).rejects.toBe(reason);
  });

  it('settle() waits without throwing, for cleanup paths', async () => {
    const b = gatedBackend();
    const w = new WriteBehind(b.writeAt, { inFlight: 4 });
    await w.write(0, Buffer.alloc(1));
    await w.write(1, Buffer.alloc(1));
    const done = w.settle();
    b.pending[0]!.finish(new Error('x'));
    b.pending[1]!.finish();
    await expect(done).resolves.toBeUndefined();
    expect(b.running()).toBe(0);
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => new WriteBehind(async () => undefined, { inFlight: 0 })).toThrow(RangeError);
  });
});
