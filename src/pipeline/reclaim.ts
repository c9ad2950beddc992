/**
 * Removing what a failed add left in the backend, also when the backend is
 * down at that moment. A driver hands each leftover (a partial file, an
 * unfinished multipart upload, a segment, a half-written image) to its
 * store's reclaimer with the call that removes it. The first attempt runs at
 * once; when it fails, the removal is tried again later, the pause doubling
 * up to a bound, until it succeeds, the retry window ends or the store
 * closes. Every outcome is logged: what could not be removed is logged with
 * its location and kind, for the operator (and the leftover listing) to find.
 *
 * Each attempt is bounded: its signal aborts after `attemptMs`, and an
 * attempt that ignores its signal is abandoned then all the same, so a
 * backend that stopped answering never holds a reclaimer, nor an add that
 * waits for its first attempt.
 */
import { NotFoundError } from '../errors.js';
import { checkMilliseconds, checkOptionsObject, InvalidArgumentValueError } from '../arguments.js';
import { maskLocation } from '../location.js';
import type { Logger } from '../logger.js';
import type { LeftoverRef, PendingLeftover, Reclaimer, ReclaimOptions, RemoveLeftover } from '../driver.js';

export type { LeftoverRef, PendingLeftover, Reclaimer, ReclaimOptions, RemoveLeftover };

export interface ReclaimerOptions {
  store: string;
  logger: Logger;
  /** The bound of one attempt (default 30 s). */
  attemptMs?: number;
  /** The first pause before another attempt (default 1 s), doubled each time up to maxPauseMs (default 60 s). */
  firstPauseMs?: number;
  maxPauseMs?: number;
  /** How long after the first attempt removal is still tried (default 1 hour). */
  retryForMs?: number;
}

const RECLAIM_OPTIONS = ['attemptMs', 'firstPauseMs', 'maxPauseMs', 'retryForMs', 'abortGraceMs'];

/** MultiStore's `reclaim` option: known keys, each a duration in ms. */
export function checkReclaimOptions(options: unknown): void {
  if (options === undefined) return;
  checkOptionsObject('options.reclaim', options);
  for (const [k, v] of Object.entries(options as object)) {
    if (!RECLAIM_OPTIONS.includes(k)) throw new InvalidArgumentValueError(`Unknown option "options.reclaim.${k}"; known: ${RECLAIM_OPTIONS.join(', ')}`);
    checkMilliseconds(`options.reclaim.${k}`, v);
  }
}

export function createReclaimer(o: ReclaimerOptions): Reclaimer {
  const attemptMs = o.attemptMs ?? 30_000;
  const firstPauseMs = o.firstPauseMs ?? 1_000;
  const maxPauseMs = o.maxPauseMs ?? 60_000;
  const retryForMs = o.retryForMs ?? 3_600_000;
  const waiting = new Map<PendingLeftover, NodeJS.Timeout | undefined>();
  let closed = false;

  const shown = (l: LeftoverRef) => `${l.kind} ${maskLocation(l.location)}`;

  async function attempt(entry: PendingLeftover, remove: RemoveLeftover): Promise<boolean> {
    entry.attempts++;
    try {
      await bounded(remove, attemptMs);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return true;
      entry.lastError = maskLocation(describe(err));
      return false;
    }
  }

  function schedule(entry: PendingLeftover, remove: RemoveLeftover, pause: number): void {
    if (closed) return;
    if (Date.now() - entry.since.getTime() + pause > retryForMs) {
      waiting.delete(entry);
      o.logger.error(
        { store: o.store, kind: entry.kind, location: maskLocation(entry.location), attempts: entry.attempts, err: entry.lastError },
        `gave up removing ${shown(entry)} left by a failed add, after ${entry.attempts} attempts: ${entry.lastError}`,
      );
      return;
    }
    // Unreferenced: a pending removal never keeps the process alive; what is
    // pending at exit has been logged at its failed attempt.
    const timer = setTimeout(() => void retry(entry, remove, Math.min(pause * 2, maxPauseMs)), pause).unref();
    waiting.set(entry, timer);
  }

  async function retry(entry: PendingLeftover, remove: RemoveLeftover, nextPause: number): Promise<void> {
    waiting.set(entry, undefined);
    if (await attempt(entry, remove)) {
      waiting.delete(entry);
      o.logger.info({ store: o.store, kind: entry.kind, location: maskLocation(entry.location), attempts: entry.attempts }, `removed ${shown(entry)} left by a failed add, at attempt ${entry.attempts}`);
      return;
    }
    o.logger.warn({ store: o.store, kind: entry.kind, location: maskLocation(entry.location), attempts: entry.attempts, err: entry.lastError }, `still could not remove ${shown(entry)}: ${entry.lastError}`);
    schedule(entry, remove, nextPause);
  }

  /** Tries the removal at once; schedules more attempts when it fails. */
  async function handOver(leftover: LeftoverRef, remove: RemoveLeftover): Promise<boolean> {
    // Only the masked location is kept: pending() is shown to operators.
    const entry: PendingLeftover = { kind: leftover.kind, location: maskLocation(leftover.location), store: o.store, since: new Date(), attempts: 0 };
    if (closed) {
      o.logger.error({ store: o.store, kind: entry.kind, location: maskLocation(entry.location) }, `left ${shown(entry)} behind: the store is closed`);
      return false;
    }
    waiting.set(entry, undefined);
    if (await attempt(entry, remove)) {
      waiting.delete(entry);
      o.logger.debug({ store: o.store, kind: entry.kind, location: maskLocation(entry.location) }, `removed ${shown(entry)} left by a failed add`);
      return true;
    }
    o.logger.warn(
      { store: o.store, kind: entry.kind, location: maskLocation(entry.location), err: entry.lastError },
      `could not remove ${shown(entry)} left by a failed add (${entry.lastError}); trying again in ${firstPauseMs / 1000} s`,
    );
    schedule(entry, remove, firstPauseMs);
    return false;
  }

  return {
    reclaim(leftover, remove, options) {
      const first = handOver(leftover, remove);
      return options?.waitMs === undefined ? first : notAfter(first, options.waitMs);
    },
    pending: () => [...waiting.keys()].map((e) => ({ ...e })),
    close() {
      if (closed) return;
      closed = true;
      for (const [entry, timer] of waiting) {
        if (timer) clearTimeout(timer);
        o.logger.error(
          { store: o.store, kind: entry.kind, location: maskLocation(entry.location), attempts: entry.attempts, err: entry.lastError },
          `left ${shown(entry)} behind: the store closed before it could be removed (${entry.lastError ?? 'not tried yet'})`,
        );
      }
      waiting.clear();
    },
  };
}

/** `first`, or false once `ms` have passed without it: the caller goes on, the attempt too. */
async function notAfter(first: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms).unref()));
  try {
    return await Promise.race([first, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `remove` with a signal that aborts after `ms`; rejects then even if `remove` ignores it. */
async function bounded(remove: RemoveLeftover, ms: number): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`no answer within ${ms / 1000} s`);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  const work = remove(controller.signal);
  work.catch(() => undefined); // settles after the race is lost: nothing to report twice
  try {
    await Promise.race([work, timeUp]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return (err as { code?: unknown }).code ? `${String((err as { code?: unknown }).code)}: ${err.message}` : err.message;
  return String(err);
}
