/**
 * Waiting for a backend to reach a state it gets to on its own (a volume
 * becoming available, a deleted volume going away, a container emptying):
 * ask, pause, ask again, the pause doubled each time up to a bound, until a
 * deadline. The caller's signal ends the wait at once with AbortedError; the
 * deadline is BackendUnavailable, naming what was awaited and what was seen.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, BackendUnavailableError } from '../errors.js';

/** What one look at the backend found: the state awaited (with its value), or what it still is. */
export type Poll<T> = { done: true; value: T } | { done: false; seen: string };

export interface WaitOptions {
  /** What is awaited, in messages: `volume 3f.. to become available`. */
  what: string;
  /** How long to wait, in ms. */
  timeoutMs: number;
  /** Said after a deadline: the option that sets it (`cinder_state_transition_timeout`). */
  timeoutOption?: string;
  /** The first pause (default 50 ms), doubled after each look up to maxPauseMs (default 1 s). */
  firstPauseMs?: number;
  maxPauseMs?: number;
  signal?: AbortSignal | undefined;
}

export const reached = <T>(value: T): Poll<T> => ({ done: true, value });
export const waiting = (seen: string): Poll<never> => ({ done: false, seen });

/** Looks with `check` until it finds the state awaited; a `check` that throws ends the wait with its error. */
export async function waitUntil<T>(check: () => Promise<Poll<T>>, o: WaitOptions): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  let pause = o.firstPauseMs ?? 50;
  for (;;) {
    if (o.signal?.aborted) throw aborted(o, o.signal.reason);
    const poll = await check();
    if (poll.done) return poll.value;
    const left = deadline - Date.now();
    if (left <= 0) {
      const limit = `${o.timeoutMs / 1000} s${o.timeoutOption ? ` (${o.timeoutOption})` : ''}`;
      throw new BackendUnavailableError(`Gave up waiting for ${o.what} after ${limit}: it is ${poll.seen}`);
    }
    try {
      await sleep(Math.min(pause, left), undefined, o.signal ? { signal: o.signal } : undefined);
    } catch (err) {
      throw aborted(o, err);
    }
    pause = Math.min(pause * 2, o.maxPauseMs ?? 1000);
  }
}

function aborted(o: WaitOptions, cause: unknown): AbortedError {
  return new AbortedError(`Stopped waiting for ${o.what}: aborted`, { cause });
}
