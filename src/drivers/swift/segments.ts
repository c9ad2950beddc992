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
import { abandonOnAbort } from '../../abandon.js';
import { BackendUnavailableError, GlanceStoreError, SizeMismatchError } from '../../errors.js';
import type { ByteReader } from '../../pipeline/chunks.js';
import type { SwiftConnection } from './connection.js';
import type { SwiftLocation } from './location.js';
import type { AddLeftovers } from './leftovers.js';
import { checkSwiftStatus } from './objects.js';

/** Segments whose upload has not finished; only the newest is still reading the image. */
const SEGMENTS_IN_FLIGHT = 2;
export interface SegmentSettings {
  segmentBytes: number;
  /** swift_upload_buffer_dir when swift_buffer_on_upload is set. */
  bufferDir: string | undefined;
}

/** One segment's upload: `read` resolves with its length once it has taken its bytes, `done` once Swift has it. */
interface SegmentUpload {
  read: Promise<number>;
  done: Promise<void>;
}

/**
 * Writes the segments and the manifest. On failure, or as soon as the add's
 * signal aborts (whatever Swift still has to answer), it rejects, having
 * handed what it wrote, or may have written, to `leftovers`.
 */
export async function putSegmented(
  conn: SwiftConnection,
  loc: SwiftLocation,
  reader: ByteReader,
  size: number,
  signal: AbortSignal,
  settings: SegmentSettings,
  leftovers: AddLeftovers,
): Promise<void> {
  /** Each segment asked for, with its upload request. */
  const attempted = new Map<string, Promise<void>>();
  let manifest: Promise<void> | undefined;
  const inFlight = new Set<Promise<void>>();
  const guards: UploadGuard[] = [];
  const stopAll = () => guards.forEach((g) => g.stop());
  let failure: unknown;

  const upload = async () => {
    let written = 0;
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
      // Nothing starts once the add is aborted: what was started is all there is to remove.
      signal.throwIfAborted();
      const name = `${loc.obj}-${String(n).padStart(5, '0')}`;
      const guard = new UploadGuard(signal);
      guards.push(guard);
      const segment = settings.bufferDir
        ? putBufferedSegment(conn, loc.container, name, reader, limit, guard, settings.bufferDir)
        : putStreamedSegment(conn, loc.container, name, reader, limit, size > 0, guard);
      attempted.set(name, segment.done);
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
    // Not cancelled: its body is empty, so once sent it is Swift's to commit. An abort
    // stops the wait for its answer; the manifest is then removed once it has one.
    manifest = (async () => {
      const res = await conn.request({
        method: 'PUT',
        container: loc.container,
        obj: loc.obj,
        headers: { 'x-object-manifest': `${loc.container}/${loc.obj}-`, 'content-length': '0', 'if-none-match': '*' },
        body: '',
      });
      await checkSwiftStatus(res, `PUT of the manifest ${loc.container}/${loc.obj}`);
    })();
    await manifest;
  };

  try {
    // Answered at the abort, whatever Swift still owes: what the uploads do later is theirs.
    await abandonOnAbort(upload(), `The segmented upload of ${loc.obj}`, { signal, graceMs: 0, reasonAsIs: true });
  } catch (err) {
    // Uploads still sending are cut (Swift discards them); the others are removed once
    // Swift has answered them, so that a DELETE never races Swift committing them.
    stopAll();
    // One whose answer was lost may exist, and is ours (one refused as existing is not: AddLeftovers).
    if (manifest) leftovers.remove('manifest', loc.obj, manifest);
    for (const [name, request] of attempted) leftovers.remove('segment', name, request);
    await leftovers.tried();
    // An abort is what the caller asked for; else the image's own failure (size cap, size
    // mismatch, source error) explains more than the request it broke, whichever of the two
    // was noticed first.
    if (signal.aborted) throw signal.reason;
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
 * that the store's client sends it again from the file when Swift's answer
 * is lost or is a 5xx (its retry policy, SWIFT_CLIENT): a create, so a 412 on
 * a retry is the object the lost attempt made. Every file operation is
 * asynchronous: a segment is written while others are being sent.
 */
function putBufferedSegment(conn: SwiftConnection, container: string, name: string, reader: ByteReader, limit: number, guard: UploadGuard, bufferDir: string): SegmentUpload {
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
      const res = await conn.request({
        method: 'PUT',
        container,
        obj: name,
        headers: { 'content-length': String(length), 'if-none-match': '*' },
        body: () => createReadStream(from, { highWaterMark: 1024 * 1024 }).once('end', () => guard.markSent()),
        create: true,
        signal: guard.signal,
      });
      await checkSwiftStatus(res, `PUT of segment ${container}/${name}`);
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
