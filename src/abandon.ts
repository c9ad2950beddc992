/**
 * A backend call that must not hold its caller past an abort: once the
 * caller's signal aborts, the call gets a grace period to stop on its own
 * (drivers pass the signal on and usually do), then the caller is answered
 * with the abort all the same. The call itself cannot be cancelled from
 * here: its late outcome goes to `late` (a location to remove, a stream to
 * destroy) so nothing it made is lost track of.
 */
import { AbortedError, GlanceStoreError } from './errors.js';

export const DEFAULT_ABORT_GRACE_MS = 1_500;

export interface AbandonOptions<T> {
  signal: AbortSignal | undefined;
  /** How long an aborted call may still take (default 1.5 s). */
  graceMs?: number;
  /** What to do with a value the call still gives after it was abandoned. */
  late?: (value: T) => void;
  /** Told once the call is abandoned (for a log line). */
  abandoned?: () => void;
  /**
   * Reject with the signal's reason as it is, not as a library error: for a
   * caller that maps the abort itself (a reclaimer's attempt, whose reason
   * is its time running out).
   */
  reasonAsIs?: boolean;
}

/** The abort as the caller sees it: a library error (the signal's reason when it is one). */
export function abortError(signal: AbortSignal, what: string): GlanceStoreError {
  const reason = signal.reason as unknown;
  return reason instanceof GlanceStoreError ? reason : new AbortedError(`${what} was aborted`, { cause: reason });
}

export async function abandonOnAbort<T>(call: Promise<T>, what: string, o: AbandonOptions<T>): Promise<T> {
  const { signal } = o;
  if (!signal) return call;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  let gaveUp = false;
  const graceMs = o.graceMs ?? DEFAULT_ABORT_GRACE_MS;
  const abandoned = new Promise<never>((_, reject) => {
    const giveUp = () => {
      gaveUp = true;
      reject(o.reasonAsIs ? signal.reason : abortError(signal, what));
    };
    // No grace: the caller is answered at the abort itself, whatever the call has done by then.
    onAbort = () => (graceMs === 0 ? giveUp() : (timer = setTimeout(giveUp, graceMs)));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    // Given up before the race: the abort wins over a call that has settled already.
    return await (gaveUp ? abandoned : Promise.race([call, abandoned]));
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
    if (gaveUp) {
      o.abandoned?.();
      call.then((value) => o.late?.(value), () => undefined);
    }
  }
}
