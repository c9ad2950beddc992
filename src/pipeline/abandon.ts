/**
 * An abort that settles at once whatever the backend does. A driver whose
 * backend calls cannot be cancelled (librbd's, once sent) gives the caller
 * the abort reason as soon as its signal aborts, while the work goes on in
 * the background; `onAbort` hands what the work leaves to the store's
 * reclaimer, which waits for the work to end before removing it.
 */
export function settleOnAbort<T>(work: Promise<T>, signal: AbortSignal, onAbort: () => void): Promise<T> {
  // The work settles after the caller got the abort: its outcome is the reclaimer's to handle.
  work.catch(() => undefined);
  if (signal.aborted) {
    onAbort();
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort();
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(err as Error);
      },
    );
  });
}

/** Resolves once `work` has settled; rejects with the signal's reason if it aborts first. */
export function settledOrAborted(work: Promise<unknown>, signal: AbortSignal): Promise<void> {
  const settled = work.then(
    () => undefined,
    () => undefined,
  );
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<void>((resolve, reject) => {
    const abort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', abort, { once: true });
    void settled.then(() => {
      signal.removeEventListener('abort', abort);
      resolve();
    });
  });
}
