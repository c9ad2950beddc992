/**
 * What a failed add may have left in its container (segments, a manifest,
 * a whole object whose answer was lost), handed to the store's reclaimer:
 * removed now when Swift answers, else again later until it does (or the
 * store closes), logged either way. An object whose upload request is still
 * waiting for Swift's answer is removed only once that request has settled:
 * its body went out, so Swift may still commit it, and a DELETE that came
 * first would find nothing and count the object as gone.
 */
import { abandonOnAbort } from '../../abandon.js';
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
const CLEANUP_WAIT_MS = { aborted: 500, failed: 10_000 };

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
    /** The add's signal: once it aborted, the add waits for its removals only briefly. */
    private readonly signal: AbortSignal,
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
    const waitMs = this.signal.aborted ? CLEANUP_WAIT_MS.aborted : CLEANUP_WAIT_MS.failed;
    this.firstAttempts.push(
      this.reclaimer.reclaim({ kind, location }, async (signal) => {
        // The attempt's own bound ends the wait: its reason (the time running out) is what the reclaimer records.
        if (!(await abandonOnAbort(ours, `The wait for the upload of ${name}`, { signal, graceMs: 0, reasonAsIs: true }))) return;
        const res = await conn.request({ method: 'DELETE', container: loc.container, obj: name, signal });
        discard(res);
        // A 404 is NotFound: the reclaimer counts it as removed.
        await checkSwiftStatus(res, `DELETE of ${loc.container}/${name}`);
      }, { waitMs }),
    );
  }

  /**
   * Waits for the first removal attempts, each at most its CLEANUP_WAIT_MS:
   * the add's caller gets its error then, and what is not removed yet stays
   * with the reclaimer.
   */
  async tried(): Promise<void> {
    await Promise.all(this.firstAttempts);
  }
}
