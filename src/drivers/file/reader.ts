/**
 * Reads a byte range of an open file in reads of `readBytes` (4 MiB unless
 * filesystem_store_chunk_size is larger), two in flight, into
 * fresh buffers (or, with GetOptions.reuseBuffers, into a ring of a few).
 * Each read is a hop to libuv's thread pool and back, which with the page
 * cache warm costs more than copying a MiB. Measured here (docs/
 * performance.md, "The file get"): 4 MiB x 2 streams a warm file 1.4-1.5x
 * faster than 1 MiB x 4 (the bench, one run), and faster than 2 MiB or 8 MiB
 * reads. A fresh 4 MiB buffer is served from the allocator's heap once the
 * first has been freed (glibc raises its mmap threshold to the freed size),
 * so most reads fault in no new pages. The stream's memory: two reads, one buffered chunk, the one the
 * consumer holds, and what the garbage collector has not yet freed.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { readAhead } from '../../pipeline/read-ahead.js';

const IN_FLIGHT = 2;
/**
 * With reuseBuffers the buffers are not fresh memory, so smaller reads pay
 * no page faults: 1 MiB reads, four in flight (one per libuv thread), keep
 * the ring (eight of them) in the CPU's last-level cache.
 */
const REUSE_READ_BYTES = 1024 * 1024;
const REUSE_IN_FLIGHT = 4;

/** How each read and the final close are run (the store's filesystem_store_timeout guard). */
export interface ReadCalls {
  read<T>(call: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const UNGUARDED = (handle: FileHandle): ReadCalls => ({ read: (call) => call(), close: () => handle.close() });

/** `toError` turns a failed read (EIO, say) into the library's error the stream then emits. */
export function rangeStream(handle: FileHandle, start: number, length: number, readBytes: number, reuse: boolean, toError: (err: unknown) => Error, calls: ReadCalls = UNGUARDED(handle)): Readable {
  return readAhead({
    start,
    length,
    chunk: reuse ? REUSE_READ_BYTES : readBytes,
    inFlight: reuse ? REUSE_IN_FLIGHT : IN_FLIGHT,
    reuse,
    readAt: (at, size, into) =>
      readFully(handle, into ?? Buffer.allocUnsafe(size), at, calls).catch((err: unknown) => {
        throw toError(err);
      }),
    close: () => calls.close(),
  });
}

async function readFully(handle: FileHandle, buf: Buffer, position: number, calls: ReadCalls): Promise<Buffer> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await calls.read(() => handle.read(buf, off, buf.length - off, position + off));
    if (bytesRead === 0) throw Object.assign(new Error(`file ended ${buf.length - off} bytes early`), { code: 'EIO' });
    off += bytesRead;
  }
  return buf;
}
