/**
 * The reclaimer (removal of what failed adds left, retried while the backend
 * is down) and the add that is abandoned when its driver does not stop after
 * an abort. Driven by a driver whose backend "stops answering" on demand.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createReclaimer } from '../src/pipeline/reclaim.js';
import { abandonOnAbort } from '../src/abandon.js';
import { defineDriver } from '../src/driver.js';
import { MultiStore } from '../src/multistore.js';
import { NotFoundError } from '../src/errors.js';
import { parseConfig } from '../src/config/parse.js';
import type { Logger } from '../src/logger.js';

function recordingLogger(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_o: unknown, msg?: string) => void lines.push({ level, msg: String(msg) });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('reclaimer', () => {
  it('removes a leftover at once when the backend answers', async () => {
    const logger = recordingLogger();
    const r = createReclaimer({ store: 's', logger });
    let calls = 0;
    expect(await r.reclaim({ kind: 'partial file', location: 'file:///x' }, async () => void calls++)).toBe(true);
    expect(calls).toBe(1);
    expect(r.pending()).toEqual([]);
  });

  it('counts NotFound as removed', async () => {
    const r = createReclaimer({ store: 's', logger: recordingLogger() });
    expect(await r.reclaim({ kind: 'image', location: 'file:///x' }, async () => Promise.reject(new NotFoundError('gone')))).toBe(true);
    expect(r.pending()).toEqual([]);
  });

  it('tries again with growing pauses until the removal succeeds, and logs it', async () => {
    const logger = recordingLogger();
    const r = createReclaimer({ store: 's', logger, firstPauseMs: 20, maxPauseMs: 40 });
    const times: number[] = [];
    const remove = async () => {
      times.push(Date.now());
      if (times.length < 4) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    };
    expect(await r.reclaim({ kind: 'segment', location: 'swift://u:secret@h/c/o' }, remove)).toBe(false);
    const [pending] = r.pending();
    expect(pending).toMatchObject({ store: 's', kind: 'segment', attempts: 1, lastError: expect.stringContaining('ECONNREFUSED') });
    expect(pending!.location).not.toContain('secret');
    for (let i = 0; i < 100 && r.pending().length > 0; i++) await sleep(10);
    expect(r.pending()).toEqual([]);
    expect(times).toHaveLength(4);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(35); // doubled from 20 ms
    expect(logger.lines.find((l) => l.level === 'info')?.msg).toMatch(/removed segment .* at attempt 4/);
    expect(logger.lines.map((l) => l.msg).join('\n')).not.toContain('secret');
  });

  it('with waitMs, answers its caller false by then, and the attempt goes on to remove the leftover', async () => {
    const r = createReclaimer({ store: 's', logger: recordingLogger() });
    let removed = false;
    const t0 = Date.now();
    const first = await r.reclaim({ kind: 'image', location: 'file:///slow' }, async () => {
      await sleep(300);
      removed = true;
    }, { waitMs: 50 });
    expect(first).toBe(false);
    expect(Date.now() - t0).toBeLessThan(250);
    expect(r.pending()).toMatchObject([{ kind: 'image', attempts: 1 }]);
    for (let i = 0; i < 100 && r.pending().length > 0; i++) await sleep(10);
    expect(removed).toBe(true);
    expect(r.pending()).toEqual([]);
    // An attempt that settles within waitMs is answered as without it.
    expect(await r.reclaim({ kind: 'image', location: 'file:///fast' }, async () => undefined, { waitMs: 1_000 })).toBe(true);
  });

  it('bounds an attempt that never answers', async () => {
    const r = createReclaimer({ store: 's', logger: recordingLogger(), attemptMs: 50, firstPauseMs: 10_000 });
    let sawAbort = false;
    const started = Date.now();
    const removed = await r.reclaim({ kind: 'image', location: 'rbd://f/p/i/snap' }, (signal) => {
      signal.addEventListener('abort', () => (sawAbort = true));
      return new Promise(() => {});
    });
    expect(removed).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(sawAbort).toBe(true);
    expect(r.pending()[0]!.lastError).toMatch(/no answer within 0.05 s/);
    r.close();
  });

  it('stops at close and logs what it left behind', async () => {
    const logger = recordingLogger();
    const r = createReclaimer({ store: 's', logger, firstPauseMs: 10 });
    let calls = 0;
    await r.reclaim({ kind: 'multipart upload', location: 's3://h/b/k' }, async () => {
      calls++;
      throw new Error('down');
    });
    r.close();
    await sleep(50);
    expect(calls).toBe(1);
    expect(r.pending()).toEqual([]);
    expect(logger.lines.find((l) => l.level === 'error')?.msg).toMatch(/left multipart upload s3:\/\/h\/b\/k behind: the store closed/);
    expect(await r.reclaim({ kind: 'image', location: 's3://h/b/j' }, async () => void calls++)).toBe(false);
    expect(calls).toBe(1);
  });

  it('gives up after its retry window and says so', async () => {
    const logger = recordingLogger();
    const r = createReclaimer({ store: 's', logger, firstPauseMs: 10, maxPauseMs: 10, retryForMs: 60 });
    await r.reclaim({ kind: 'image', location: 'file:///y' }, async () => Promise.reject(new Error('EIO')));
    for (let i = 0; i < 50 && r.pending().length > 0; i++) await sleep(10);
    expect(r.pending()).toEqual([]);
    expect(logger.lines.find((l) => l.level === 'error')?.msg).toMatch(/gave up removing image file:\/\/\/y .* after \d+ attempts: EIO/);
  });
});

/** A driver whose add waits for its backend, which answers only when `backend.answer()` is called, ignoring the signal. */
function stuckDriver() {
  const backend = { answer: () => {}, deleted: [] as string[], deleteFails: true, hang: false, lateStream: undefined as Readable | undefined };
  const hung = <T>(value: () => T) => new Promise<T>((resolve) => (backend.answer = () => resolve(value())));
  const definition = defineDriver({
    type: 'stuck',
    schemes: ['stuck'],
    options: [] as const,
    create: () => ({
      capabilities: () => new Set(['read', 'write'] as const),
      get: () => hung(() => ({ stream: (backend.lateStream = Readable.from([Buffer.alloc(10)])), size: 10 })),
      getSize: () => Promise.resolve(0),
      close: () => Promise.resolve(),
      async add(imageId: string, data: AsyncIterable<Uint8Array>) {
        for await (const chunk of data) void chunk;
        await new Promise<void>((resolve) => (backend.answer = resolve));
        return { location: `stuck://${imageId}` };
      },
      async delete(location: string) {
        if (backend.hang) return hung(() => undefined);
        if (backend.deleteFails) throw new Error('backend down');
        backend.deleted.push(location);
      },
    }),
  });
  return { backend, definition };
}

const CONFIG = parseConfig('[DEFAULT]\nenabled_backends = s:stuck\n[glance_store]\ndefault_backend = s\n');

describe('an aborted add whose driver does not stop', () => {
  it('rejects with Aborted within the grace period, and removes the late image once the backend answers', async () => {
    const { backend, definition } = stuckDriver();
    const logger = recordingLogger();
    const ms = await MultiStore.create(CONFIG, { drivers: [definition], logger, reclaim: { abortGraceMs: 200, firstPauseMs: 20, maxPauseMs: 20 } });
    try {
      const controller = new AbortController();
      const adding = ms.add('11111111-2222-3333-4444-555555555555', Buffer.alloc(1000, 1), { signal: controller.signal });
      await sleep(50);
      const started = Date.now();
      controller.abort();
      await expect(adding).rejects.toMatchObject({ code: 'Aborted' });
      expect(Date.now() - started).toBeLessThan(1000);
      expect(logger.lines.some((l) => l.level === 'warn' && /abandoned the aborted add/.test(l.msg))).toBe(true);
      // The backend answers late: the add completed there, so its image is a leftover.
      backend.answer();
      for (let i = 0; i < 50 && ms.pendingCleanups().length === 0; i++) await sleep(10);
      expect(ms.pendingCleanups()).toMatchObject([{ store: 's', kind: 'image', location: 'stuck://11111111-2222-3333-4444-555555555555' }]);
      backend.deleteFails = false;
      for (let i = 0; i < 100 && ms.pendingCleanups().length > 0; i++) await sleep(10);
      expect(ms.pendingCleanups()).toEqual([]);
      expect(backend.deleted).toEqual(['stuck://11111111-2222-3333-4444-555555555555']);
    } finally {
      await ms.close();
    }
  });

  it('answers an aborted get and delete within the grace period, and destroys a stream that comes late', async () => {
    const { backend, definition } = stuckDriver();
    const ms = await MultiStore.create(CONFIG, { drivers: [definition], reclaim: { abortGraceMs: 100 } });
    try {
      const getting = ms.get('stuck://11111111-2222-3333-4444-555555555555', { signal: AbortSignal.timeout(50) });
      const started = Date.now();
      await expect(getting).rejects.toMatchObject({ code: 'Aborted' });
      expect(Date.now() - started).toBeLessThan(1000);
      backend.answer();
      await sleep(20);
      expect(backend.lateStream?.destroyed).toBe(true);
      backend.hang = true;
      await expect(ms.delete('stuck://11111111-2222-3333-4444-555555555555', { signal: AbortSignal.timeout(50) })).rejects.toMatchObject({ code: 'Aborted' });
    } finally {
      backend.answer();
      await ms.close();
    }
  });

  it('refuses reclaim options that are not durations', async () => {
    const { definition } = stuckDriver();
    await expect(MultiStore.create(CONFIG, { drivers: [definition], reclaim: { attemptMs: -1 } })).rejects.toThrow(/options.reclaim.attemptMs.*milliseconds/);
    await expect(MultiStore.create(CONFIG, { drivers: [definition], reclaim: { retryFor: 5 } as never })).rejects.toThrow(/Unknown option "options.reclaim.retryFor"/);
  });
});

describe('abandonOnAbort without grace, with the reason as it is', () => {
  it('rejects with the signal\'s own reason at the abort, and leaves the call\'s later rejection unreported', async () => {
    const ac = new AbortController();
    let fail!: (e: unknown) => void;
    const call = new Promise<string>((_, reject) => (fail = reject));
    const waiting = abandonOnAbort(call, 'The wait', { signal: ac.signal, graceMs: 0, reasonAsIs: true });
    const reason = new Error('no answer within 30 s');
    ac.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    fail(new Error('late'));
    await sleep(10);
  });

  it('rejects at once on a signal aborted already, even when the call has settled', async () => {
    const reason = new Error('time is up');
    await expect(abandonOnAbort(Promise.resolve(1), 'The wait', { signal: AbortSignal.abort(reason), graceMs: 0, reasonAsIs: true })).rejects.toBe(reason);
  });

  it('gives the call\'s value when it settles before the abort', async () => {
    const ac = new AbortController();
    expect(await abandonOnAbort(Promise.resolve('done'), 'The wait', { signal: ac.signal, graceMs: 0, reasonAsIs: true })).toBe('done');
  });
});
