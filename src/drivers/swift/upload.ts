/**
 * Writing one image into its container, in glance_store's layout so either
 * library reads and deletes the other's images: below
 * swift_store_large_object_size one object, from it (or of unknown size)
 * segments and a manifest (./segments.ts). Never over an existing image, and
 * never leaving anything behind when the add fails.
 */
import { Readable } from 'node:stream';
import { abandonOnAbort } from '../../abandon.js';
import { BackendError, DuplicateError } from '../../errors.js';
import type { DriverAddOptions } from '../../driver.js';
import type { Logger } from '../../logger.js';
import type { Reclaimer } from '../../pipeline/reclaim.js';
import { transportError } from '../../net/failure.js';
import { discard, headerValue } from '../../net/response.js';
import { ByteReader } from '../../pipeline/chunks.js';
import type { SwiftConnection } from './connection.js';
import type { SwiftLocation } from './location.js';
import { checkSwiftStatus, deleteNames, listNames, objectExists, splitManifest } from './objects.js';
import { ONE_MB, type SwiftStoreOptions } from './options.js';
import { AddLeftovers } from './leftovers.js';
import { putSegmented, UploadGuard, type SegmentSettings } from './segments.js';

type UploadOptions = Pick<SwiftStoreOptions, 'swift_store_large_object_size' | 'swift_store_large_object_chunk_size' | 'swift_buffer_on_upload' | 'swift_upload_buffer_dir'>;

export class SwiftUploader {
  private readonly segments: SegmentSettings;

  constructor(
    private readonly storeId: string,
    private readonly o: UploadOptions,
    private readonly logger: Logger,
    private readonly reclaimer: Reclaimer,
  ) {
    this.segments = {
      segmentBytes: o.swift_store_large_object_chunk_size * ONE_MB,
      bufferDir: o.swift_buffer_on_upload ? o.swift_upload_buffer_dir : undefined,
    };
  }

  /**
   * Writes the image at `loc` (its location `uri`). On failure, or at once
   * when the add's signal aborts, it rejects, what it wrote handed to the
   * store's reclaimer (./leftovers.ts).
   */
  async write(conn: SwiftConnection, loc: SwiftLocation, uri: string, imageId: string, data: AsyncIterable<Uint8Array>, options: DriverAddOptions): Promise<void> {
    const signal = options.signal;
    const where = `image ${imageId} in store ${this.storeId}`;
    const { exists, stale } = await this.inspectName(conn, loc, signal);
    if (exists) throw new DuplicateError(`Image ${imageId} already exists in store ${this.storeId}`);
    // Below here a size of 0 means unknown: a known size below the threshold (0 too) goes whole.
    const size = options.size ?? 0;
    const whole = options.size !== undefined && size < this.o.swift_store_large_object_size * ONE_MB;
    // Listings may lag: before segments are removed or written, ask for the image itself.
    if ((stale.length || !whole) && (await objectExists(conn, loc.container, loc.obj, signal))) {
      throw new DuplicateError(`Image ${imageId} already exists in store ${this.storeId}`);
    }
    if (stale.length) {
      this.logger.warn(`[${this.storeId}] removing ${stale.length} leftover segment(s) of an unfinished earlier add of ${imageId}`);
      await deleteNames(conn, loc.container, stale, signal);
    }
    const reader = new ByteReader(data[Symbol.asyncIterator]());
    const leftovers = new AddLeftovers(conn, loc, uri, this.reclaimer, signal);
    try {
      if (whole) await putWhole(conn, loc, reader, size, signal, leftovers);
      else await putSegmented(conn, loc, reader, size, signal, this.segments, leftovers);
    } catch (err) {
      reader.cancel();
      throw transportError(err, { what: where, service: 'Swift', signal });
    }
  }

  /**
   * One listing of the names that share the id's first dash-separated part
   * says what an add needs to know before writing. Swift's DLO joins every
   * object whose name starts with `<image>-`, so: leftover segments of an
   * earlier failed add of this id (no manifest: the image does not exist) are
   * returned for removal; another object named `<image>-...` would be taken
   * into a segmented image, and an image `a-b` next to a segmented image `a`
   * would become part of it; both stop the add.
   */
  private async inspectName(conn: SwiftConnection, loc: SwiftLocation, signal: AbortSignal): Promise<{ exists: boolean; stale: string[] }> {
    const id = loc.obj;
    const dash = id.indexOf('-');
    const names = await listNames(conn, loc.container, dash > 0 ? id.slice(0, dash) : id, signal);
    const mine = `${id}-`;
    const stale = names.filter((n) => n.startsWith(mine) && /^\d{5,}$/.test(n.slice(mine.length)));
    const foreign = names.filter((n) => n.startsWith(mine) && !stale.includes(n));
    if (foreign.length) {
      throw new BackendError(`Container ${loc.container} holds objects named ${mine}* (${foreign.slice(0, 3).join(', ')}) that image ${id} would take in if segmented; use another image id`);
    }
    const enclosing = names.filter((n) => id.startsWith(`${n}-`));
    for (const candidate of enclosing) {
      const res = await conn.request({ method: 'HEAD', container: loc.container, obj: candidate, signal });
      discard(res);
      const manifest = res.statusCode < 300 ? headerValue(res, 'x-object-manifest') : undefined;
      if (manifest && id.startsWith(splitManifest(manifest).prefix)) {
        throw new BackendError(`Image ${id} would become part of the segmented image ${candidate} in container ${loc.container}; use another image id`);
      }
    }
    return { exists: names.includes(id), stale };
  }
}

/** Below swift_store_large_object_size: one PUT, never over an existing object (If-None-Match). */
async function putWhole(conn: SwiftConnection, loc: SwiftLocation, reader: ByteReader, size: number, signal: AbortSignal, leftovers: AddLeftovers): Promise<void> {
  let sent = 0;
  const guard = new UploadGuard(signal);
  const body = Readable.from(
    (async function* () {
      for await (const chunk of reader.take(size)) {
        sent += chunk.byteLength;
        yield chunk;
      }
      // The pipeline has checked the end of the data by the time it hands out the last byte.
      guard.markSent();
    })(),
  );
  const request = (async () => {
    const res = await conn.request({
      method: 'PUT',
      container: loc.container,
      obj: loc.obj,
      headers: { 'content-length': String(size), 'if-none-match': '*' },
      body,
      signal: guard.signal,
    });
    await checkSwiftStatus(res, `PUT of ${loc.container}/${loc.obj}`);
  })();
  try {
    await abandonOnAbort(request, `The upload of ${loc.obj}`, { signal, graceMs: 0, reasonAsIs: true });
  } catch (err) {
    // The whole body went out but the answer was lost (or not awaited): the object may exist, and it is ours.
    if (sent === size) {
      leftovers.remove('image', loc.obj, request);
      await leftovers.tried();
    }
    throw signal.aborted ? signal.reason : err;
  } finally {
    guard.release();
  }
}
