/**
 * Write-behind for drivers that store an image as writes at byte offsets
 * (rbd's image, cinder's attached volume, sheepdog's objects): the next
 * chunk is read from the source while earlier writes are still in flight.
 *
 * - At most `inFlight` writes run at once: `write` waits for a slot, so the
 *   source is read no faster than the backend takes the bytes.
 * - The first failure wins: once a write fails (or the signal aborts), no
 *   new write starts, and every later `write` / `drain` throws that failure.
 * - Nothing is left running: a `write` or `drain` rejects only once every
 *   write in flight has settled, so the driver's cleanup (closing the
 *   image, removing what was written) never races a late write.
 *
 * The writer does not care how a write is done; one connection carrying
 * several requests (sheepdog) or one handle written at several offsets
 * (librbd) are both a `WriteAt`.
 */

/**
 * Writes `data` at byte `offset`; the buffer is the write's own until its
 * promise settles. `data` is a Buffer, or whatever a driver hands its
 * writes (sheepdog: the pipeline's chunks of one object, uncopied).
 */
export type WriteAt<Data = Buffer> = (offset: number, data: Data) => Promise<void>;

export interface WriteBehindOptions {
  /** Most writes in flight at once (at least 1). */
  inFlight: number;
  /** The add's signal: once it aborts, no new write starts and the next call throws its reason. */
  signal?: AbortSignal;
}

export class WriteBehind<Data = Buffer> {
  private readonly pending = new Set<Promise<void>>();
  private readonly inFlight: number;
  private readonly signal: AbortSignal | undefined;
  private failed = false;
  private failure: unknown;

  constructor(
    private readonly writeAt: WriteAt<Data>,
    options: WriteBehindOptions,
  ) {
    if (!Number.isSafeInteger(options.inFlight) || options.inFlight < 1) throw new RangeError(`inFlight must be a positive integer, not ${options.inFlight}`);
    this.inFlight = options.inFlight;
    this.signal = options.signal;
  }

  /** Writes in flight now. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Starts writing `data` at `offset` and returns once there is room for the
   * next write. Throws the first failure (a write's, or the abort reason),
   * after every write in flight has settled.
   */
  async write(offset: number, data: Data): Promise<void> {
    await this.throwIfFailed();
    const p = this.writeAt(offset, data).then(
      () => void this.pending.delete(p),
      (err: unknown) => {
        this.fail(err);
        this.pending.delete(p);
      },
    );
    this.pending.add(p);
    if (this.pending.size >= this.inFlight) await Promise.race(this.pending);
    await this.throwIfFailed();
  }

  /** Waits for every write in flight; throws the first failure (or the abort reason) once they have all settled. */
  async drain(): Promise<void> {
    await this.settle();
    await this.throwIfFailed();
  }

  /** Waits for every write in flight and never throws: for cleanup paths, before a handle is closed. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = err;
  }

  private async throwIfFailed(): Promise<void> {
    if (!this.failed && this.signal?.aborted) this.fail(this.signal.reason);
    if (!this.failed) return;
    await this.settle();
    throw this.failure;
  }
}
