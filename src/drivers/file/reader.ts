/**
 * Reads a byte range of an open file with four 1 MiB reads in flight:
 * measured here, that streams a file faster than Node's own file streams.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { readAhead } from '../../pipeline/read-ahead.js';

const IN_FLIGHT = 4;

/** `toError` turns a failed read (EIO, say) into the library's error the stream then emits. */
export function rangeStream(handle: FileHandle, start: number, length: number, readBytes: number, toError: (err: unknown) => Error): Readable {
  return readAhead({
    start,
    length,
    chunk: readBytes,
    inFlight: IN_FLIGHT,
    readAt: (at, size) =>
      readFully(handle, Buffer.allocUnsafe(size), at).catch((err: unknown) => {
        throw toError(err);
      }),
    close: () => handle.close(),
  });
}

async function readFully(handle: FileHandle, buf: Buffer, position: number): Promise<Buffer> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await handle.read(buf, off, buf.length - off, position + off);
    if (bytesRead === 0) throw Object.assign(new Error(`file ended ${buf.length - off} bytes early`), { code: 'EIO' });
    off += bytesRead;
  }
  return buf;
}
