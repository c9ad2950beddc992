/**
 * What a failed add may have left in its container (segments, a manifest,
 * a whole object whose answer was lost), handed to the store's reclaimer:
 * removed now when Swift answers, else again later until it does (or the
 * store closes), logged either way. An object whose upload request is still
 * waiting for Swift's answer is removed only once that request has settled:
 * its body went out, so Swift may still commit it, and a DELETE that came
 * first would find nothing and count the object as gone.
 */
import { DuplicateError } from '../../errors.js';
import type { Reclaimer } from '../../pipeline/reclaim.js';
import { discard } from '../../net/response.js';
import type { SwiftConnection } from './connection.js';
import type { SwiftLocation } from './location.js';
import { checkSwiftStatus } from './objects.js';

/**
 * How long a failed add waits for the first removal of what it wrote before
 * it rejects (what is not removed by then stays with the store's reclaimer):
 * briefly after an abort, which must settle at once; longer after a failure,
 * so that a backend that answers is left as it was when the add rejects.
 */
export const CLEANUP_WAIT_MS = { aborted: 500, failed: 10_000 };

/** What a leftover is, in the reclaimer's log and `pendingCleanups()`. */
export type LeftoverKind = 'segment' | 'manifest' | 'image';

export class AddLeftovers {
  private readonly firstAttempts: Promise<boolean>[] = [];

  /**
   * @param uri the image's location; a segment's is the image's with the
   *   segment's suffix (`<location>-00001`), as its object name is.
   */
  constructor(
    private readonly conn: SwiftConnection,
    private readonly loc: SwiftLocation,
    private readonly uri: string,
    private readonly reclaimer: Reclaimer,
  ) {}

  /**
   * Hands object `name` of the image's container over for removal, once
   * `upload` (its request) has settled. An upload Swift refused because the
   * object exists (DuplicateError: another add's) leaves nothing of ours.
   */
  remove(kind: LeftoverKind, name: string, upload: Promise<unknown>): void {
    const ours = upload.then(
      () => true,
      (err: unknown) => !(err instanceof DuplicateError),
    );
    const { conn, loc } = this;
    const location = `${this.uri}${name.slice(loc.obj.length)}`;
    this.firstAttempts.push(
      this.reclaimer.reclaim({ kind, location }, async (signal) => {
        if (!(await untilAborted(ours, signal))) return;
        const res = await conn.request({ method: 'DELETE', container: loc.container, obj: name, signal });
        discard(res);
        // A 404 is NotFound: the reclaimer counts it as removed.
        await checkSwiftStatus(res, `DELETE of ${loc.container}/${name}`);
      }),
    );
  }

  /**
   * Waits for the first removal attempts, at most `ms`: the add's caller
   * gets its error then, and what is not removed yet stays with the reclaimer.
   */
  async tried(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    try {
      await Promise.race([Promise.all(this.firstAttempts), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * `work`, or a rejection with the signal's reason as soon as it aborts,
 * whatever `work` still waits for (a request Swift has not answered). What
 * `work` does later is its own: its rejection is not reported again.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined);
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort!));
}
