/**
 * Helpers for drivers that write in fixed-size pieces (rbd objects, s3 parts,
 * swift segments, file chunks): re-slicing the pipeline's stream and telling
 * all-zero chunks apart for thin provisioning.
 */

/** Yields `size`-byte Buffers (the last may be shorter), copying only when a piece spans chunks. */
export async function* fixedChunks(data: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer, void, undefined> {
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  let parts: Buffer[] = [];
  let have = 0;
  for await (const chunk of data) {
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (buf.length > 0) {
      if (have === 0 && buf.length >= size) {
        yield buf.subarray(0, size);
        buf = buf.subarray(size);
        continue;
      }
      const take = Math.min(size - have, buf.length);
      parts.push(buf.subarray(0, take));
      have += take;
      buf = buf.subarray(take);
      if (have === size) {
        yield Buffer.concat(parts, have);
        parts = [];
        have = 0;
      }
    }
  }
  if (have > 0) yield Buffer.concat(parts, have);
}

const ZERO_PAGE = Buffer.alloc(64 * 1024);

/** True when every byte is zero (compared a page at a time, which is memcmp-fast). */
export function isAllZero(buf: Uint8Array): boolean {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let off = 0; off < b.length; off += ZERO_PAGE.length) {
    const end = Math.min(off + ZERO_PAGE.length, b.length);
    if (b.compare(ZERO_PAGE, 0, end - off, off, end) !== 0) return false;
  }
  return true;
}

/**
 * Reads one byte stream as a series of bounded pieces, each its own async
 * iterable, without copying: for drivers that send an image as several
 * requests (swift segments). A piece must be read to its end before the
 * next is taken.
 */
export class ByteReader {
  private held: Uint8Array | undefined;
  private ended = false;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** Whether any byte is left; reads ahead one chunk to know. */
  async more(): Promise<boolean> {
    while (!this.held && !this.ended) {
      const step = await this.source.next();
      if (step.done) this.ended = true;
      else if (step.value.byteLength > 0) this.held = step.value;
    }
    return this.held !== undefined;
  }

  /** Up to `limit` bytes: fewer only when the stream ends first. */
  async *take(limit: number): AsyncGenerator<Uint8Array, void, undefined> {
    let left = limit;
    while (left > 0 && (await this.more())) {
      const chunk = this.held!;
      if (chunk.byteLength > left) {
        const piece = chunk.subarray(0, left);
        this.held = chunk.subarray(left);
        left = 0;
        yield piece;
      } else {
        this.held = undefined;
        left -= chunk.byteLength;
        yield chunk;
      }
    }
  }

  /**
   * Ends the source early (after a failure), letting it release what it
   * holds. Not awaited: a `return()` queues behind a `next()` still waiting
   * for data, and a failed add must not wait for the client's next chunk.
   */
  cancel(): void {
    this.held = undefined;
    if (!this.ended) {
      this.ended = true;
      this.source.return?.()?.catch(() => undefined);
    }
  }
}
