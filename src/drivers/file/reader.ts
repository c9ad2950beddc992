/**
 * Reads a byte range of an open file as a stream with several reads in
 * flight: one read at a time leaves the disk idle between requests, and
 * measured here, four 1 MiB reads in flight stream a file faster than
 * Node's own file streams.
 */
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

const READ_BYTES = 1024 * 1024;
const IN_FLIGHT = 4;

export function rangeStream(handle: FileHandle, start: number, length: number, readBytes = READ_BYTES): Readable {
  const end = start + length;
  let next = start;
  const pending: Array<Promise<Buffer>> = [];
  let closed = false;

  const issue = () => {
    while (pending.length < IN_FLIGHT && next < end) {
      const size = Math.min(readBytes, end - next);
      const at = next;
      next += size;
      const buf = Buffer.allocUnsafe(size);
      const read = readFully(handle, buf, at);
      read.catch(() => undefined); // observed when its turn comes
      pending.push(read);
    }
  };

  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.allSettled(pending);
    await handle.close().catch(() => undefined);
  };

  return new Readable({
    highWaterMark: readBytes,
    read() {
      issue();
      const head = pending.shift();
      if (!head) {
        this.push(null);
        return;
      }
      head.then(
        (buf) => {
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

async function readFully(handle: FileHandle, buf: Buffer, position: number): Promise<Buffer> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await handle.read(buf, off, buf.length - off, position + off);
    if (bytesRead === 0) throw Object.assign(new Error(`file ended ${buf.length - off} bytes early`), { code: 'EIO' });
    off += bytesRead;
  }
  return buf;
}
