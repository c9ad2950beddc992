/**
 * The cinder store: each image is a Cinder volume of its own, named
 * `image-<image id>`, with metadata glance_image_id, image_owner and
 * image_size, as glance_store's cinder store lays it out. Data goes through
 * an attachment's connection (RBD, with librbd); the REST calls are in
 * api.ts, the volume's states in volume.ts, the writing in writer.ts.
 */
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import type { Capability, DriverAddOptions, DriverAddResult, DriverCallOptions, DriverContext, DriverGetOptions, DriverGetResult, DriverListOptions, ListedImage, RequestContext, StoreLeftover, WritableStoreDriver } from '../../driver.js';
import { cinderLeftovers, listCinderImages, type CinderListing } from './list.js';
import { randomUUID } from 'node:crypto';
import { AbortedError, BackendError, BackendUnavailableError, DuplicateError, NotFoundError } from '../../errors.js';
import { throwStoreProblems } from '../store-problems.js';
import { ServiceClient } from '../../net/client.js';
import { readTls } from '../../net/tls.js';
import { readAhead } from '../../pipeline/read-ahead.js';
import { CINDER_CLIENT, CinderApi, type Volume } from './api.js';
import { Connectors } from './connector.js';
import { formatCinderLocation, parseCinderLocation } from './location.js';
import type { CinderStoreOptions } from './options.js';
import { CinderSessions } from './session.js';
import { DEFAULT_LOCK_DIR, VolumeLocks } from './volume-lock.js';
import { VolumeLifecycle } from './volume.js';
import { GiB, writeImage } from './writer.js';

/** Bytes per read, and reads in flight. */
const READ_CHUNK = 4 * 2 ** 20;
const READS_IN_FLIGHT = 4;
/** Metadata that marks a volume as one add's until the image is written (then removed). */
const ADD_MARK = 'glance_store_add';
/** States of a volume that is being removed: it no longer holds an image. */
const GONE = new Set(['deleting', 'deleted']);
/** States of a volume that will never hold an image (a failed create): not a duplicate. */
const FAILED = new Set(['error', 'error_deleting', ...GONE]);

export class CinderStore implements WritableStoreDriver {
  private constructor(
    readonly id: string,
    private readonly o: CinderStoreOptions,
    private readonly client: ServiceClient,
    private readonly sessions: CinderSessions,
    private readonly connectors: Connectors,
    private readonly lifecycle: VolumeLifecycle,
  ) {}

  static create(ctx: DriverContext<CinderStoreOptions>): CinderStore {
    const o = ctx.options;
    // A CA bundle means verification, whatever cinder_api_insecure says (net/tls.ts).
    const { tls, problems } = readTls({ caFile: o.cinder_ca_certificates_file, insecure: o.cinder_api_insecure }, { caFile: 'cinder_ca_certificates_file', insecure: 'cinder_api_insecure' });
    throwStoreProblems(ctx.id, problems);
    const client = ServiceClient.create({ ...CINDER_CLIENT, tls, retry: { attempts: o.cinder_http_retries } });
    const sessions = new CinderSessions(ctx.id, o, client, ctx.logger);
    const connectors = new Connectors(o.cinder_rbd_keyring);
    const attaching = { attempts: o.cinder_attachment_retry_attempts, locks: new VolumeLocks(o.cinder_lock_path ?? DEFAULT_LOCK_DIR, Math.max(1, o.cinder_state_transition_timeout)) };
    return new CinderStore(ctx.id, o, client, sessions, connectors, new VolumeLifecycle(connectors, o.cinder_state_transition_timeout * 1000, ctx.logger, ctx.id, ctx.reclaimer, attaching));
  }

  capabilities(): ReadonlySet<Capability> {
    return new Set<Capability>(['read', 'read-random', 'write']);
  }

  properties(): Record<string, unknown> {
    return {
      auth: this.sessions.auth,
      ...(this.o.cinder_volume_type ? { volume_type: this.o.cinder_volume_type } : {}),
      ...(this.o.cinder_os_region_name ? { region: this.o.cinder_os_region_name } : {}),
    };
  }

  /** A multi-store location names its store; a legacy one may be any cinder store's (the one whose Cinder has the volume reads it). */
  ownsLocation(location: string): boolean {
    try {
      const loc = parseCinderLocation(location);
      return loc.storeId === undefined || loc.storeId === this.id;
    } catch {
      return false;
    }
  }

  /** glance_store reads `cinder://<volume>` and `cinder://<store>/<volume>` as one image: both name the volume in this store. */
  canonicalLocation(location: string): string {
    const loc = parseCinderLocation(location);
    return formatCinderLocation({ storeId: this.id, volumeId: loc.volumeId });
  }

  private api(context: RequestContext | undefined, signal?: AbortSignal): CinderApi {
    return new CinderApi(this.client.withToken(this.sessions.session(context)), signal);
  }

  async add(imageId: string, data: AsyncIterable<Uint8Array>, options: DriverAddOptions): Promise<DriverAddResult> {
    const { signal, context } = options;
    const api = this.api(context, signal);
    const name = `image-${imageId}`;
    if ((await this.holders(api, name)).length > 0) throw new DuplicateError(`Image ${imageId} already has a volume in store ${this.id}`);
    const declared = options.size ?? 0;
    const metadata: Record<string, string> = {
      glance_image_id: imageId,
      image_size: String(declared),
      ...(context?.projectId ? { image_owner: context.projectId } : {}),
    };
    signal.throwIfAborted();
    // Marks the volume as this add's until it is written, so that one whose create was never
    // answered can be told from another add's of the same image id, and removed.
    const mark = randomUUID();
    let created: Volume;
    try {
      // Not cut short by an abort: a volume Cinder created for a request we stopped listening to would be left behind.
      created = await api.unbounded().createVolume({ size: Math.max(1, Math.ceil(declared / GiB)), name, metadata: { ...metadata, [ADD_MARK]: mark }, ...(this.o.cinder_volume_type ? { volumeType: this.o.cinder_volume_type } : {}) });
    } catch (err) {
      // No answer: Cinder may have made the volume all the same.
      if (err instanceof BackendUnavailableError || err instanceof AbortedError) await this.lifecycle.reclaimUnanswered(api.unbounded(), name, (v) => v.metadata?.[ADD_MARK] === mark);
      throw err;
    }
    try {
      const volume = await this.lifecycle.waitFor(api, created.id, ['creating'], 'available', signal);
      await this.refuseRace(api, name, volume, imageId);
      const written = await writeImage({ api, lifecycle: this.lifecycle, volume, data, declared, extendAttached: this.o.cinder_do_extend_attached, signal });
      signal.throwIfAborted();
      // glance_store's metadata only: the mark goes.
      await api.setMetadata(volume.id, { ...metadata, image_size: String(declared || written) });
      await api.setReadonly(volume.id, true);
    } catch (err) {
      // Cleanup runs without the add's signal, which may be what stopped it, and goes on
      // through the reclaimer while Cinder does not answer.
      await this.lifecycle.reclaimFailedAdd(api.unbounded(), created.id);
      throw err;
    }
    return { location: formatCinderLocation({ storeId: this.id, volumeId: created.id }) };
  }

  list(options?: DriverListOptions): AsyncIterable<ListedImage> {
    return listCinderImages(this.listing(), options);
  }

  leftovers(options?: DriverListOptions): AsyncIterable<StoreLeftover> {
    return cinderLeftovers(this.listing(), options);
  }

  private listing(): CinderListing {
    return { storeId: this.id, client: (o) => this.client.withToken(this.sessions.session(o.context)), addMark: ADD_MARK };
  }

  /** The volumes that hold (or are being written with) an image of this name. */
  private async holders(api: CinderApi, name: string): Promise<Volume[]> {
    return (await api.volumesNamed(name)).filter((v) => v.name === name && !FAILED.has(v.status));
  }

  /**
   * Two adds of one image id may both pass the first check: the volume
   * created first (by creation time, then id) keeps the image, the other
   * add removes its own volume.
   */
  private async refuseRace(api: CinderApi, name: string, ours: Volume, imageId: string): Promise<void> {
    const key = (v: Volume) => `${v.created_at ?? ''} ${v.id}`;
    const earlier = (await this.holders(api, name)).filter((v) => v.id !== ours.id && key(v) < key(ours));
    if (earlier.length > 0) throw new DuplicateError(`Image ${imageId} already has a volume in store ${this.id} (${earlier[0]!.id})`);
  }

  async get(location: string, options: DriverGetOptions = {}): Promise<DriverGetResult> {
    const { volumeId } = parseCinderLocation(location);
    const api = this.api(options.context, options.signal);
    const volume = await this.volume(api, volumeId);
    const total = imageSize(volume);
    const start = Math.min(options.offset ?? 0, total);
    const size = options.length === undefined ? total - start : Math.min(options.length, total - start);
    if (size === 0) return { stream: Readable.from([]), size };
    // Detaching after the read must not be cut short by the caller's signal.
    const quiet = api.unbounded();
    const attached = await this.lifecycle.acquireForRead(api, volumeId, options.signal);
    let released: Promise<void> | undefined;
    const release = () => (released ??= this.lifecycle.release(quiet, attached));
    const reads = readAhead({
      start,
      length: size,
      chunk: READ_CHUNK,
      inFlight: READS_IN_FLIGHT,
      readAt: async (at, len) => {
        const buf = await attached.device.read(at, len);
        if (buf.length !== len) throw new BackendError(`Short read from volume ${volumeId} at ${at}: ${buf.length} of ${len} bytes`);
        return buf;
      },
      close: release,
    });
    // The stream ends only once the volume is detached, so a delete right after a read does not find it attached.
    const detachBeforeEnd = new Transform({
      transform: (chunk: Buffer, _enc, cb: TransformCallback) => cb(null, chunk),
      flush: (cb: TransformCallback) => void release().then(() => cb(), () => cb()),
    });
    const stream = pipeline(reads, detachBeforeEnd, () => undefined);
    return { stream, size };
  }

  async getSize(location: string, options: DriverCallOptions = {}): Promise<number> {
    const { volumeId } = parseCinderLocation(location);
    return imageSize(await this.volume(this.api(options.context, options.signal), volumeId));
  }

  async delete(location: string, options: DriverCallOptions = {}): Promise<void> {
    const { volumeId } = parseCinderLocation(location);
    const api = this.api(options.context, options.signal);
    await this.volume(api, volumeId);
    await this.lifecycle.remove(api, volumeId);
  }

  /** The volume, NotFound when it is gone or being deleted. */
  private async volume(api: CinderApi, volumeId: string): Promise<Volume> {
    let volume: Volume;
    try {
      volume = await api.volume(volumeId);
    } catch (err) {
      if (err instanceof NotFoundError) throw new NotFoundError(`Volume ${volumeId} was not found in store ${this.id}`, { cause: err });
      throw err;
    }
    if (GONE.has(volume.status)) throw new NotFoundError(`Volume ${volumeId} is being deleted from store ${this.id}`);
    return volume;
  }

  async close(): Promise<void> {
    await this.lifecycle.settle();
    await this.connectors.close();
    await this.client.close();
  }
}

/** The image's size: the volume's image_size metadata, else the whole volume (as glance_store). */
function imageSize(volume: Volume): number {
  const recorded = volume.metadata?.['image_size'];
  if (recorded !== undefined) {
    const n = Number(recorded);
    if (!Number.isSafeInteger(n) || n < 0) throw new BackendError(`Volume ${volume.id} has an invalid image_size ${JSON.stringify(recorded)}`);
    return n;
  }
  return volume.size * GiB;
}
