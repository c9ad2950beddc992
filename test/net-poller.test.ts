/**
 * The one poller (src/net/poller.ts): it returns once the state is reached,
 * pausing twice as long each time; its deadline is BackendUnavailable naming
 * what was awaited and what was last seen; an abort ends it at once.
 */
import { describe, it, expect } from 'vitest';
import { GlanceStoreError, NotFoundError } from '../src/errors.js';
import { reached, waitUntil, waiting } from '../src/net/poller.js';

describe('the poller', () => {
  it('returns the value once the state is reached, with doubling pauses', async () => {
    const at: number[] = [];
    const value = await waitUntil(
      async () => {
        at.push(Date.now());
        return at.length < 4 ? waiting('creating') : reached('available');
      },
      { what: 'volume v to become available', timeoutMs: 10_000, firstPauseMs: 40, maxPauseMs: 1000 },
    );
    expect(value).toBe('available');
    const pauses = at.slice(1).map((t, i) => t - at[i]!);
    expect(pauses[0]).toBeGreaterThanOrEqual(35);
    expect(pauses[1]).toBeGreaterThanOrEqual(75);
    expect(pauses[2]).toBeGreaterThanOrEqual(155);
  });

  it('gives BackendUnavailable at its deadline, naming what it waited for, for how long and what it saw', async () => {
    const started = Date.now();
    const err = (await waitUntil(async () => waiting('still creating'), { what: 'volume v to become available', timeoutMs: 300, timeoutOption: 'cinder_state_transition_timeout', firstPauseMs: 20 }).catch((e: unknown) => e)) as GlanceStoreError;
    expect(err).toBeInstanceOf(GlanceStoreError);
    expect(err.code).toBe('BackendUnavailable');
    expect(err.message).toBe('Gave up waiting for volume v to become available after 0.3 s (cinder_state_transition_timeout): it is still creating');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("rejects promptly with AbortedError when the caller's signal aborts during a pause", async () => {
    const controller = new AbortController();
    let looks = 0;
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    const err = (await waitUntil(async () => (looks++, waiting('creating')), { what: 'volume v', timeoutMs: 60_000, firstPauseMs: 30_000, signal: controller.signal }).catch((e: unknown) => e)) as GlanceStoreError;
    expect(err.code).toBe('Aborted');
    expect(err.message).toBe('Stopped waiting for volume v: aborted');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(looks).toBe(1);
    // Already aborted: no look at all.
    const before = looks;
    await expect(waitUntil(async () => (looks++, reached(1)), { what: 'x', timeoutMs: 1000, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'Aborted' });
    expect(looks).toBe(before);
  });

  it('ends with the error of a look that fails', async () => {
    await expect(
      waitUntil(
        async () => {
          throw new NotFoundError('gone');
        },
        { what: 'x', timeoutMs: 1000 },
      ),
    ).rejects.toMatchObject({ code: 'NotFound' });
  });
});
