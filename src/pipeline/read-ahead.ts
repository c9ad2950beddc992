/**
 * A byte range of a backend object as a stream, with several reads in flight:
 * one read at a time leaves the disk or cluster idle between requests. Used by
 * every driver whose backend reads at an offset (file, rbd).
 */
import { Readable } from 'node:stream';

export interface ReadAheadOptions {
  start: number;
  length: number;
  /** Bytes per read. */
  chunk: number;
  /** Reads in flight. */
  inFlight: number;
  /**
   * The consumer's promise that it is done with a chunk once it reads the next
   * (GetOptions.reuseBuffers): reads then go into a ring of a few buffers.
   */
  reuse?: boolean;
  /**
   * Reads exactly `length` bytes at `offset` (a short read is an error): into
   * `into` (`length` long) when given, which is what it then returns.
   */
  readAt(offset: number, length: number, into?: Buffer): Promise<Buffer>;
  /** Releases the backend object once, when the stream ends or is destroyed. */
  close(): Promise<void>;
}

/**
 * A reused-buffer stream's ring, and the buffer its next read goes into. A new
 * ring is fresh memory the kernel faults in page by page (about 6,000 faults for
 * six 4 MiB buffers, 10-20 ms here, a third of a warm 512 MiB read), so an ended
 * stream leaves its ring to the next one instead.
 */
interface Ring {
  buffers: Buffer[];
  next: number;
}

/**
 * One ring per shape kept between streams (memory held while no reused-buffer
 * get runs: one ring, the file store's eight 1 MiB buffers). The next stream starts at
 * the buffer after the last one filled, so the chunks the last stream handed
 * out most recently are overwritten last, as within one stream.
 */
const spareRings = new Map<string, Ring>();

function takeRing(chunk: number, count: number): Ring {
  const key = `${chunk}x${count}`;
  const spare = spareRings.get(key);
  if (spare) {
    spareRings.delete(key);
    return spare;
  }
  return { buffers: Array.from({ length: count }, () => Buffer.allocUnsafeSlow(chunk)), next: 0 };
}

function giveBackRing(ring: Ring): void {
  const key = `${ring.buffers[0]!.length}x${ring.buffers.length}`;
  if (!spareRings.has(key)) spareRings.set(key, ring);
}

export function readAhead(o: ReadAheadOptions): Readable {
  const end = o.start + o.length;
  let next = o.start;
  /** Reads not yet handed to the stream, in order. */
  const pending: Array<Promise<Buffer>> = [];
  /** Every read still running, handed over or not: close() waits for all of them. */
  const running = new Set<Promise<unknown>>();
  let closed = false;
  // With reuse: read k goes into ring[k % ring.length]. When it is issued, at most `inFlight`
  // reads are pending, one chunk waits in the stream's buffer (its highWaterMark is one
  // chunk) and one is being pushed, so the consumer has already read the chunk after the one
  // that used this buffer before: by its promise, it is done with that one.
  const ring = o.reuse ? takeRing(o.chunk, o.inFlight + 4) : undefined;
  let reads = ring?.next ?? 0;

  const issue = () => {
    while (!closed && pending.length < o.inFlight && next < end) {
      const size = Math.min(o.chunk, end - next);
      const into = ring?.buffers[reads % ring.buffers.length]!.subarray(0, size);
      reads++;
      const read = o.readAt(next, size, into);
      next += size;
      const settled = read.then(
        () => undefined,
        () => undefined, // observed when its turn comes
      );
      running.add(settled);
      void settled.then(() => running.delete(settled));
      pending.push(read);
    }
  };

  const close = async () => {
    if (closed) return;
    closed = true;
    // The backend object is released only once no read is using it.
    await Promise.allSettled([...running]);
    // No read writes into the ring any more: the next reused-buffer stream may have it.
    if (ring) giveBackRing({ buffers: ring.buffers, next: reads % ring.buffers.length });
    await o.close().catch(() => undefined);
  };

  return new Readable({
    highWaterMark: o.chunk,
    read() {
      issue();
      const head = pending.shift();
      if (!head) {
        // The stream ends once the backend object is released: a caller that deletes the image
        // right after reading it to the end (rbd refuses while the image is open) finds it closed.
        void close().then(() => this.push(null));
        return;
      }
      head.then(
        (buf) => {
          if (closed) return;
          issue();
          this.push(buf);
        },
        (err: Error) => this.destroy(err),
      );
    },
    destroy(err, cb) {
      close().then(
        () => cb(err),
        () => cb(err),
      );
    },
  }).once('end', () => void close());
}
