/**
 * Conformance cases about a backend that fails under the driver: the fault
 * proxy refuses, stalls, cuts or resets the store's connections during an
 * add or a get. An add then fails with the error that says so
 * (BackendUnavailable, or Aborted when the caller gives up on a stalled
 * backend), in bounded time, and the backend holds nothing of it once it
 * answers again; or, where the client may send a cut or reset request
 * again, it succeeds with exactly the bytes hashed stored. A get fails, and its stream never ends as if the image were
 * whole.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddResult } from '../add-image.js';
import type { MultiStore } from '../multistore.js';
import { nodeHashName } from '../pipeline/hash-algo.js';
import { FaultProxy, type Fault, type FaultAddress } from './fault-proxy.js';
import type { FaultCase, FaultFixture } from './fixtures.js';
import { changes, md5, optionalCase, readAll, sha, type TestApi } from './helpers.js';

/** What the fault cases need from the suite that runs them. */
export interface FaultSuite {
  t: TestApi;
  store: string;
  timeout: number;
  fixture: FaultFixture | undefined;
  /** Bytes of the image the cases add or read. */
  imageBytes: number;
  /** What the backend holds (writable stores), to check that a failed add left nothing. */
  listStored?: () => Promise<string[]>;
  /** Makes `bytes` readable through the proxied store `ms`; gives its location and how to remove it. */
  seed(ms: MultiStore, bytes: Buffer, proxy: FaultAddress): Promise<{ location: string; remove(): Promise<void> }>;
}

/** How long a driver may take to give up once the caller aborted a call on a stalled backend. */
const ABORT_BOUND_MS = 10_000;

const describeFault = (f: Fault) => (f.kind === 'pass' || f.kind === 'refuse' || f.afterBytes === undefined ? f.kind : `${f.kind} after ${f.afterBytes} bytes ${f.direction ?? 'down'}`);

function codeOf(err: unknown): string | undefined {
  return (err as { code?: string } | undefined)?.code;
}

/**
 * How long the store's reclaimer may take, once the proxy passes again, to
 * remove what a failed add handed it (the cases' stores retry after 200 ms,
 * then at most every second).
 */
const RECLAIM_BOUND_MS = 15_000;
const RECLAIM_PACE = { firstPauseMs: 200, maxPauseMs: 1_000 };

/** Waits until `ms` has no removal pending (a failed add's leftovers handed to its reclaimer), or fails saying what is left. */
async function cleanupsDone(ms: MultiStore, what: string): Promise<void> {
  const deadline = Date.now() + RECLAIM_BOUND_MS;
  while (ms.pendingCleanups().length > 0) {
    if (Date.now() > deadline) {
      const left = ms.pendingCleanups().map((l) => `${l.kind} ${l.location} (${l.attempts} attempts: ${l.lastError ?? 'pending'})`);
      assert.fail(`${what}: still not removed ${RECLAIM_BOUND_MS} ms after the backend answered again: ${left.join('; ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Rejects with a message when `p` has not settled after `ms`: a driver that ignores an abort must not hang the suite. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new assert.AssertionError({ message: `${what} did not end within ${ms} ms` })), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

export function faultCases(s: FaultSuite): void {
  const { t, store, timeout, fixture } = s;
  const skip = fixture ? undefined : 'the fixture has no faults (not a networked store)';
  let proxy: FaultProxy | undefined;
  let ms: MultiStore | undefined;
  const addAt = fixture?.at?.add ?? Math.floor(s.imageBytes / 3);
  const getAt = fixture?.at?.get ?? Math.floor(s.imageBytes / 3);

  /**
   * Sets `fault`, runs `call` (aborted `abortAfter` ms after the fault
   * struck, when given), and gives how it ended, and whether the fault
   * struck. The proxy passes again before this returns.
   */
  async function outcomeThrough<T>(fault: Fault, call: (signal: AbortSignal) => Promise<T>, abortAfter?: number): Promise<{ value: T; struck: boolean } | { error: unknown }> {
    const p = proxy!;
    const ac = new AbortController();
    const struck = p.nextFault();
    let abortedAt: number | undefined;
    if (abortAfter !== undefined) {
      void struck.then(() =>
        setTimeout(() => {
          abortedAt = Date.now();
          ac.abort();
        }, abortAfter),
      );
    }
    const fired = p.faultsFired;
    p.set(fault);
    try {
      const outcome = await within(
        call(ac.signal).then(
          (value) => ({ value, struck: p.faultsFired > fired }),
          (error: unknown) => ({ error }),
        ),
        timeout - 5_000,
        `a call through "${describeFault(fault)}"`,
      );
      if (abortedAt !== undefined) assert.ok(Date.now() - abortedAt < ABORT_BOUND_MS, `the call took ${Date.now() - abortedAt} ms to end after the abort`);
      return outcome;
    } finally {
      p.pass();
    }
  }

  /** As outcomeThrough, for a call that must fail: gives its error. */
  async function failure(fault: Fault, call: (signal: AbortSignal) => Promise<unknown>, abortAfter?: number): Promise<unknown> {
    const outcome = await outcomeThrough(fault, call, abortAfter);
    if (!('error' in outcome)) {
      const struckYet = outcome.struck ? 'struck' : 'never struck (give the fixture a smaller faults.at)';
      assert.fail(`the call succeeded through "${describeFault(fault)}": the fault ${struckYet}`);
    }
    return outcome.error;
  }

  function expectCode(err: unknown, codes: string[], fault: Fault): void {
    assert.ok(codes.includes(codeOf(err) ?? ''), `through "${describeFault(fault)}": expected ${codes.join(' or ')}, got ${codeOf(err)}: ${(err as Error)?.message}`);
  }

  /** An add through `fault` fails with one of `codes` and, once the backend answers again, it holds what it held before. */
  async function addFails(fault: Fault, codes: string[], abortAfter?: number): Promise<void> {
    const before = await s.listStored!();
    const bytes = randomBytes(s.imageBytes);
    const err = await failure(fault, async (signal) => {
      const r = await ms!.add(randomUUID(), bytes, { store, signal });
      proxy!.pass();
      await ms!.delete(r.location, { store });
      return r;
    }, abortAfter);
    expectCode(err, codes, fault);
    // What the driver handed its reclaimer (a removal the fault cut off) is removed once the backend answers.
    await cleanupsDone(ms!, `a failed add through "${describeFault(fault)}"`);
    assert.deepEqual(changes(before, await s.listStored!()), { added: [], removed: [] }, `a failed add through "${describeFault(fault)}" changed what the backend holds`);
  }

  /**
   * An add through a fault a client may recover from by sending the broken
   * request again (a cut or reset connection). Either outcome is right when,
   * and only when, it can be verified: the add fails with one of `codes` and
   * the backend holds what it held before; or it succeeds, and the image
   * read back is exactly the bytes added, of the size, checksum and
   * multihash the add returned (so a short or corrupt object fails), and
   * once deleted nothing else of it is left.
   */
  async function addFailsOrStoresExactly(fault: Fault, codes: string[]): Promise<void> {
    const before = await s.listStored!();
    const bytes = randomBytes(s.imageBytes);
    const outcome = await outcomeThrough(fault, () => ms!.add(randomUUID(), bytes, { store }));
    if ('error' in outcome) {
      expectCode(outcome.error, codes, fault);
    } else {
      assert.ok(outcome.struck, `the add succeeded through "${describeFault(fault)}" but the fault never struck (give the fixture a smaller faults.at)`);
      const r: AddResult = outcome.value;
      try {
        const back = await readAll((await ms!.get(r.location, { store })).stream);
        const algo = nodeHashName(r.hashAlgo) ?? r.hashAlgo;
        const what = `the image an add recovered through "${describeFault(fault)}"`;
        assert.equal(r.size, bytes.length, `${what} was recorded with size ${r.size} of ${bytes.length}`);
        assert.equal(back.length, r.size, `${what} reads back ${back.length} bytes, not the ${r.size} recorded`);
        assert.equal(md5(back), r.checksum, `${what} reads back bytes whose md5 is not the recorded checksum`);
        assert.equal(sha(algo, back), r.multihash, `${what} reads back bytes whose ${r.hashAlgo} is not the recorded multihash`);
        assert.ok(back.equals(bytes), `${what} reads back other bytes than were added`);
      } finally {
        await ms!.delete(r.location, { store });
      }
    }
    await cleanupsDone(ms!, `an add through "${describeFault(fault)}"`);
    assert.deepEqual(changes(before, await s.listStored!()), { added: [], removed: [] }, `an add through "${describeFault(fault)}" changed what the backend holds`);
  }

  /** A get through `fault` fails with one of `codes`, and never ends normally. */
  async function getFails(fault: Fault, codes: string[], abortAfter?: number): Promise<void> {
    const bytes = randomBytes(s.imageBytes);
    const image = await s.seed(ms!, bytes, proxy!.address);
    try {
      const err = await failure(fault, async (signal) => {
        const got = await ms!.get(image.location, { store, signal });
        const read = await readAll(got.stream);
        return assert.fail(`a get through "${describeFault(fault)}" ended normally with ${read.length} of ${bytes.length} bytes`);
      }, abortAfter);
      if (err instanceof assert.AssertionError) throw err;
      expectCode(err, codes, fault);
      // The backend answers again: the image is whole, through the same store.
      const again = await readAll((await ms!.get(image.location, { store })).stream);
      assert.ok(again.equals(bytes), 'the image does not read back whole once the backend answers again');
    } finally {
      await image.remove();
    }
  }

  t.describe('when the backend fails (fault proxy)', () => {
    t.beforeAll(async () => {
      if (!fixture) return;
      proxy = await FaultProxy.start(fixture.target);
      ms = await fixture.create(proxy.address, { reclaim: RECLAIM_PACE });
    }, 120_000);
    t.afterAll(async () => {
      await ms?.close();
      await proxy?.close();
    });

    /** Why a case is not run: the store cannot run it, or the fixture names it a known failure. */
    const known = (key: FaultCase, otherwise: string | undefined) => otherwise ?? (fixture?.known?.[key] ? `known to fail: ${fixture.known[key]}` : undefined);
    const down = ['BackendUnavailable'];
    const gaveUp = ['Aborted', 'BackendUnavailable'];
    const writable = s.listStored ? skip : 'a read-only store';
    optionalCase(t, 'an add whose backend refuses connections fails with BackendUnavailable and leaves nothing', known('add-refuse', writable), () => addFails({ kind: 'refuse' }, down), timeout);
    optionalCase(t, 'an add whose connection is cut mid-upload fails with BackendUnavailable and leaves nothing, or stores exactly the bytes hashed', known('add-cut', writable), () => addFailsOrStoresExactly({ kind: 'cut', afterBytes: addAt, direction: 'up' }, down), timeout);
    optionalCase(t, 'an add whose connection is reset mid-upload fails with BackendUnavailable and leaves nothing, or stores exactly the bytes hashed', known('add-reset', writable), () => addFailsOrStoresExactly({ kind: 'reset', afterBytes: addAt, direction: 'up' }, down), timeout);
    optionalCase(t, 'an add whose backend stalls mid-upload ends soon after the caller aborts, and leaves nothing', known('add-stall', writable), () => addFails({ kind: 'stall', afterBytes: addAt, direction: 'up' }, gaveUp, 200), timeout);

    optionalCase(t, 'a get whose backend refuses connections fails with BackendUnavailable', known('get-refuse', skip), () => getFails({ kind: 'refuse' }, down), timeout);
    optionalCase(t, 'a get whose connection is cut mid-image fails, never ending as if whole', known('get-cut', skip), () => getFails({ kind: 'cut', afterBytes: getAt, direction: 'down' }, down), timeout);
    optionalCase(t, 'a get whose connection is reset mid-image fails with BackendUnavailable', known('get-reset', skip), () => getFails({ kind: 'reset', afterBytes: getAt, direction: 'down' }, down), timeout);
    optionalCase(t, 'a get whose backend stalls mid-image ends soon after the caller aborts', known('get-stall', skip), () => getFails({ kind: 'stall', afterBytes: getAt, direction: 'down' }, gaveUp, 200), timeout);
    optionalCase(t, 'a get whose backend stalls from the start ends soon after the caller aborts', known('get-stall-start', skip), async () => {
      const bytes = randomBytes(1000);
      const image = await s.seed(ms!, bytes, proxy!.address);
      try {
        const err = await failure({ kind: 'stall' }, (signal) => ms!.get(image.location, { store, signal }).then((got) => readAll(got.stream)), 300);
        expectCode(err, gaveUp, { kind: 'stall' });
      } finally {
        await image.remove();
      }
    }, timeout);
  });
}
