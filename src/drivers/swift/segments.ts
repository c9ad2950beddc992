/**
 * A large image (or one of unknown size) as glance_store lays it out: segments
 * `<image>-00001`, `<image>-00002`... of swift_store_large_object_chunk_size,
 * two uploads in flight (only the newest still reading the image), then a
 * Dynamic Large Object manifest `X-Object-Manifest: <container>/<image>-`.
 * With swift_buffer_on_upload each segment is first written to a file, so a
 * segment Swift failed to take is sent again.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackendUnavailableError, DuplicateError, GlanceStoreError, SizeMismatchError } from '../../errors.js';
import type { ByteReader } from '../../pipeline/chunks.js';
import type { SwiftConnection } from './connection.js';
import type { SwiftLocation } from './location.js';
import { checkSwiftStatus, deleteNames, deleteQuietly } from './objects.js';

/** Segments whose upload has not finished; only the newest is still reading the image. */
const SEGMENTS_IN_FLIGHT = 2;
/** Times a buffered segment is sent again after Swift failed to take it. */
const BUFFERED_SEGMENT_RETRIES = 2;

export interface SegmentSettings {
  segmentBytes: number;
  /** swift_upload_buffer_dir when swift_buffer_on_upload is set. */
  bufferDir: string | undefined;
  warn(message: string): void;
  error(message: string): void;
}

/** One segment's upload: `read` resolves with its length once it has taken its bytes, `done` once Swift has it. */
interface SegmentUpload {
  read: Promise<number>;
  done: Promise<void>;
}

/** Writes the segments and the manifest; on failure removes what it wrote (or may have written), then rejects. */
export async function putSegmented(conn: SwiftConnection, loc: SwiftLocation, reader: ByteReader, size: number, signal: AbortSignal, settings: SegmentSettings): Promise<void> {
  const attempted: string[] = [];
  /** Segments Swift refused because an object of that name exists: not ours to delete. */
  const refused = new Set<string>();
  let manifestSent = false;
  const inFlight = new Set<Promise<void>>();
  const guards: UploadGuard[] = [];
  const stopAll = () => guards.forEach((g) => g.stop());
  let failure: unknown;
  let written = 0;
  try {
    for (let n = 1; ; n++) {
      let limit = settings.segmentBytes;
      if (size > 0) {
        if (written >= size) break;
        limit = Math.min(limit, size - written);
      }
      // No empty trailing segment for an image of unknown size (as glance_store).
      if (!(await reader.more())) break;
      while (inFlight.size >= SEGMENTS_IN_FLIGHT) await Promise.race(inFlight);
      if (failure) throw failure;
      const name = `${loc.obj}-${String(n).padStart(5, '0')}`;
      attempted.push(name);
      const guard = new UploadGuard(signal);
      guards.push(guard);
      const segment = settings.bufferDir
        ? putBufferedSegment(conn, loc.container, name, reader, limit, guard, settings.bufferDir, settings.warn)
        : putStreamedSegment(conn, loc.container, name, reader, limit, size > 0, guard);
      // A finished upload stops listening to the add's signal: an image of many segments
      // would otherwise pile up listeners on it.
      const done: Promise<void> = segment.done.then(
        () => {
          guard.release();
          inFlight.delete(done);
        },
        (err: unknown) => {
          guard.release();
          inFlight.delete(done);
          if (err instanceof DuplicateError) refused.add(name);
          failure ??= err;
          stopAll();
        },
      );
      inFlight.add(done);
      // The next segment may start once this one has taken its bytes (or failed).
      written += await Promise.race([segment.read, segment.done.then(() => segment.read)]);
      if (failure) throw failure;
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
    if (size > 0 && (await reader.more())) throw new SizeMismatchError(`Image data is longer than the declared size of ${size} bytes`);
    signal.throwIfAborted();
    manifestSent = true;
    // Not cancelled: its body is empty, so once sent it is Swift's to commit, and an abort now
    // is handled after it (the add removes the finished image).
    const res = await conn.request({
      method: 'PUT',
      container: loc.container,
      obj: loc.obj,
      headers: { 'x-object-manifest': `${loc.container}/${loc.obj}-`, 'content-length': '0', 'if-none-match': '*' },
      body: '',
    });
    await checkSwiftStatus(res, `PUT of the manifest ${loc.container}/${loc.obj}`);
  } catch (err) {
    // Uploads still sending are cut (Swift discards them); those already sent are awaited,
    // so that the deletes below do not race Swift committing them.
    stopAll();
    await Promise.allSettled(inFlight);
    // A manifest whose answer was lost may exist, and is ours; one refused (412) is not.
    if (manifestSent && !(err instanceof DuplicateError)) await deleteQuietly(conn, loc.container, loc.obj);
    try {
      await deleteNames(conn, loc.container, attempted.filter((n) => !refused.has(n)));
    } catch (cleanup) {
      settings.error(`segments of a failed add could not all be removed: ${(cleanup as Error).message}`);
    }
    // The image's own failure (size cap, size mismatch, source error) explains more than the
    // request it broke, whichever of the two was noticed first.
    throw err instanceof GlanceStoreError && !(err instanceof BackendUnavailableError) ? err : (failure ?? err);
  } finally {
    guards.forEach((g) => g.release());
  }
}

/** A segment streamed straight from the image: nothing buffered, so it cannot be sent twice. */
function putStreamedSegment(conn: SwiftConnection, container: string, name: string, reader: ByteReader, limit: number, knownLength: boolean, guard: UploadGuard): SegmentUpload {
  let resolveRead!: (n: number) => void;
  let rejectRead!: (e: unknown) => void;
  const read = new Promise<number>((res, rej) => ((resolveRead = res), (rejectRead = rej)));
  read.catch(() => undefined);
  const body = Readable.from(
    (async function* () {
      let n = 0;
      try {
        for await (const chunk of reader.take(limit)) {
          n += chunk.byteLength;
          yield chunk;
        }
        guard.markSent();
        resolveRead(n);
      } catch (err) {
        rejectRead(err);
        throw err;
      }
    })(),
  );
  const done = (async () => {
    const res = await conn.request({
      method: 'PUT',
      container,
      obj: name,
      // Without a known length the segment goes chunked, as glance_store sends it. Never over
      // an existing object: a segment of that name belongs to another add of this id.
      headers: knownLength ? { 'content-length': String(limit), 'if-none-match': '*' } : { 'if-none-match': '*' },
      body,
      signal: guard.signal,
    });
    await checkSwiftStatus(res, `PUT of segment ${container}/${name}`);
  })();
  done.catch((err: unknown) => rejectRead(err));
  return { read, done };
}

/**
 * A segment written to a file of its own in swift_upload_buffer_dir first, so
 * a failed upload is sent again from the file. Every file operation is
 * asynchronous: a segment is written while others are being sent.
 */
function putBufferedSegment(
  conn: SwiftConnection,
  container: string,
  name: string,
  reader: ByteReader,
  limit: number,
  guard: UploadGuard,
  bufferDir: string,
  warn: (message: string) => void,
): SegmentUpload {
  const signal = guard.signal;
  const dir = mkdtemp(path.join(bufferDir, 'segment-'));
  const file = dir.then((d) => path.join(d, 'data'));
  const read = (async () => {
    let n = 0;
    const counted = (async function* () {
      for await (const chunk of reader.take(limit)) {
        n += chunk.byteLength;
        yield chunk;
      }
    })();
    await pipeline(Readable.from(counted), createWriteStream(await file));
    return n;
  })();
  const done = (async () => {
    try {
      const length = await read;
      const from = await file;
      for (let attempt = 0; ; attempt++) {
        try {
          const res = await conn.request({
            method: 'PUT',
            container,
            obj: name,
            headers: { 'content-length': String(length), 'if-none-match': '*' },
            body: () => createReadStream(from, { highWaterMark: 1024 * 1024 }).once('end', () => guard.markSent()),
            signal,
          });
          await checkSwiftStatus(res, `PUT of segment ${container}/${name}`);
          return;
        } catch (err) {
          // After an attempt whose answer was lost, an existing object of this name is that attempt.
          if (attempt > 0 && err instanceof DuplicateError) return;
          if (!(err instanceof BackendUnavailableError) || attempt >= BUFFERED_SEGMENT_RETRIES || signal.aborted) throw err;
          warn(`segment ${container}/${name} failed (${err.message}); sending it again from its buffer`);
        }
      }
    } finally {
      const made = await dir.catch(() => undefined);
      if (made) await rm(made, { recursive: true, force: true });
    }
  })();
  return { read, done };
}

/**
 * The cancellation of one upload request. Once its body has gone out, Swift
 * may commit the object whatever becomes of the request, so cancelling it
 * then would only lose the answer (and race the cleanup's DELETE against the
 * commit): such a request is left to finish, within the request timeout.
 */
export class UploadGuard {
  private readonly controller = new AbortController();
  private sent = false;
  private readonly onOuterAbort = () => this.stop();
  readonly signal: AbortSignal = this.controller.signal;

  constructor(private readonly outer: AbortSignal) {
    if (outer.aborted) this.controller.abort();
    else outer.addEventListener('abort', this.onOuterAbort, { once: true });
  }

  markSent(): void {
    this.sent = true;
  }

  /** Cancels the request if its body is still being sent. */
  stop(): void {
    if (!this.sent) this.controller.abort();
  }

  release(): void {
    this.outer.removeEventListener('abort', this.onOuterAbort);
  }
}
