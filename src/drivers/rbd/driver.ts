/**
 * The rbd store: each image is an RBD image named by image id in the store's
 * pool, with a protected snapshot `snap` that clones (Nova, Cinder) are made
 * from, as glance_store lays it out. One cluster connection per store, reused
 * by every call and closed by close().
 */
import {
  BackendError,
  BackendUnavailableError,
  DuplicateError,
  GlanceStoreError,
  InUseError,
} from '../../errors.js';
import type {
  Capability,
  DriverAddOptions,
  DriverAddResult,
  DriverCallOptions,
  DriverContext,
  DriverGetOptions,
  DriverGetResult,
  DriverListOptions,
  ListedImage,
  Reclaimer,
  StoreLeftover,
  WritableStoreDriver,
} from '../../driver.js';
import { listRbdImages, rbdLeftovers, type RbdListing } from './list.js';
import type { Logger } from '../../logger.js';
import { fixedChunks, isAllZero } from '../../pipeline/chunks.js';
import { readAhead } from '../../pipeline/read-ahead.js';
import { WriteBehind } from '../../pipeline/write-behind.js';
import { abandonOnAbort } from '../../abandon.js';
import { rbdCode, rbdError } from './errors.js';
import { loadRbdBinding, type Cluster, type Image, type Ioctx, type RbdBinding } from './native.js';
import { SNAPSHOT_NAME, formatRbdLocation, parseRbdLocation, type RbdLocation } from './location.js';
import { cephTimeouts, type RbdStoreOptions } from './options.js';

const MiB = 1024 * 1024;
/** Writes in flight per image. */
const IN_FLIGHT = 4;
/**
 * Reads: 4 MiB each, two in flight, whatever the object size. With 8 MiB reads (the default
 * object size), four in flight, a get held 470-590 MB of memory here; 4 MiB x 2 held 190-230 MB
 * and read as fast or faster (docs/performance.md, "rbd store").
 */
const READ_BYTES = 4 * MiB;
const READS_IN_FLIGHT = 2;
/** How far an image of unknown size grows at a time at first; doubled up to 8 GiB, as glance_store. */
const MAX_RESIZE_STEP = 8 * 1024 * MiB;
/** How long an aborted add waits for its own cleanup before it answers; below MultiStore's grace (1.5 s). */
const ABORT_GRACE_MS = 1_000;


export class RbdStore implements WritableStoreDriver {
  private readonly pools = new Map<string, Promise<Ioctx>>();
  /**
   * Images this store has open for reading ("pool/image" -> handles): a
   * read-only handle registers no watch, so a delete would not see it among
   * the image's watchers; it looks here.
   */
  private readonly readers = new Map<string, number>();
  /** The OSD map refresh a timed-out call started, while it runs. */
  private refreshing: Promise<unknown> | undefined;
  private readonly chunkBytes: number;

  private constructor(
    readonly id: string,
    private readonly rbd: RbdBinding,
    private readonly cluster: Cluster,
    private readonly fsid: string,
    private readonly options: RbdStoreOptions,
    private readonly logger: Logger,
    private readonly reclaimer: Reclaimer,
  ) {
    this.chunkBytes = options.rbd_store_chunk_size * MiB;
  }

  static async create(ctx: DriverContext<RbdStoreOptions>): Promise<RbdStore> {
    // rbd_store_chunk_size is a power of two: its rule in RBD_OPTIONS was checked with the whole config.
    const o = ctx.options;
    const rbd = await loadRbdBinding();
    let cluster: Cluster;
    if (o.rados_connect_timeout === 0) {
      ctx.logger.warn({ store: ctx.id }, `store ${ctx.id}: rados_connect_timeout = 0 lets a connect wait for the Ceph monitors with no time limit (set it below 0 for the Ceph configuration's client_mount_timeout, or to a number of seconds)`);
    }
    try {
      cluster = await rbd.connect({
        confFile: o.rbd_store_ceph_conf,
        ...(o.rbd_store_user ? { user: o.rbd_store_user } : {}),
        // Every call after the connect bounded: a monitor or OSD that stops answering fails it (ETIMEDOUT) instead of holding it.
        ...cephTimeouts(o),
      });
    } catch (err) {
      throw new BackendUnavailableError(`Store ${ctx.id} could not connect to the Ceph cluster (${o.rbd_store_ceph_conf}): ${(err as Error).message}`, { cause: err });
    }
    const store = new RbdStore(ctx.id, rbd, cluster, rbd.fsid(cluster), o, ctx.logger, ctx.reclaimer);
    try {
      await store.ioctx(o.rbd_store_pool);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  capabilities(): ReadonlySet<Capability> {
    return new Set<Capability>(['read', 'read-random', 'write']);
  }

  properties(): Record<string, unknown> {
    return { pool: this.options.rbd_store_pool, chunk_size_mib: this.options.rbd_store_chunk_size, fsid: this.fsid, thin_provisioning: this.options.rbd_thin_provisioning };
  }

  ownsLocation(location: string): boolean {
    try {
      const loc = parseRbdLocation(location);
      return loc.fsid === this.fsid && loc.pool === this.options.rbd_store_pool;
    } catch {
      return false;
    }
  }

  private ioctx(pool: string): Promise<Ioctx> {
    let io = this.pools.get(pool);
    if (!io) {
      io = this.rbd.openPool(this.cluster, pool).catch((err: unknown) => {
        this.pools.delete(pool);
        throw this.mapError(err, `pool ${pool}`);
      });
      this.pools.set(pool, io);
    }
    return io;
  }

  /**
   * An abort settles at once: librbd's calls in flight cannot be cancelled,
   * so they go on in the background and the image they leave is handed to
   * the reclaimer, which removes it once they have ended (or, the backend
   * down, later). A failed add's image goes the same way.
   */
  async add(imageId: string, data: AsyncIterable<Uint8Array>, options: DriverAddOptions): Promise<DriverAddResult> {
    const pool = this.options.rbd_store_pool;
    const io = await this.ioctx(pool);
    const location = formatRbdLocation({ fsid: this.fsid, pool, image: imageId, snapshot: SNAPSHOT_NAME });
    const made = { image: false };
    const work = this.writeImage(io, imageId, data, options, made);
    let discarding: Promise<boolean> | undefined;
    const discard = () =>
      (discarding ??= this.reclaimer.reclaim({ kind: 'image', location }, async (signal) => {
        // Not while the add still writes to it (its handle would make the removal EBUSY).
        await abandonOnAbort(work.then(() => undefined, () => undefined), `The wait for the add of ${imageId} to end`, { signal, graceMs: 0, reasonAsIs: true });
        if (made.image) await this.removeImage(io, imageId, true);
      }));
    const outcome = work.then(
      () => ({ location }),
      async (err: unknown) => {
        // A Duplicate is someone else's image: only an image this add created is removed.
        if (made.image) await discard();
        throw err;
      },
    );
    // An add the pipeline aborts (a failed check, the caller) that the backend still answers has
    // removed its image when it rejects; one whose backend stopped answering is answered at
    // ABORT_GRACE_MS, its writes left to end on their own and its image to the reclaimer.
    return abandonOnAbort(outcome, `The add of ${imageId} to store ${this.id}`, { signal: options.signal, graceMs: ABORT_GRACE_MS, abandoned: () => void discard() });
  }

  /** Creates the image, writes it and makes its protected snapshot; `made.image` says the image was created. */
  private async writeImage(io: Ioctx, imageId: string, data: AsyncIterable<Uint8Array>, options: DriverAddOptions, made: { image: boolean }): Promise<void> {
    const declared = options.size;
    const order = Math.log2(this.chunkBytes);
    try {
      await this.rbd.create(io, imageId, declared ?? 0, order, this.rbd.FEATURE_LAYERING);
    } catch (err) {
      if (rbdCode(err) === 'EEXIST') throw new DuplicateError(`Image ${imageId} already exists in store ${this.id}`, { cause: err });
      // A create that failed part-way (a monitor or OSD lost mid-call) may have left the image, or some of it.
      made.image = true;
      throw this.mapError(err, `creating image ${imageId}`);
    }
    made.image = true;
    let image: Image | undefined;
    try {
      options.signal.throwIfAborted();
      image = await this.rbd.open(io, imageId, null);
      const written = await this.writeAll(image, data, declared, options.signal);
      if (declared === undefined) await this.rbd.resize(image, written);
      options.signal.throwIfAborted();
      await this.rbd.snapCreate(image, SNAPSHOT_NAME);
      await this.rbd.snapProtect(image, SNAPSHOT_NAME);
      await this.rbd.close(image);
      image = undefined;
    } catch (err) {
      if (image) await this.rbd.close(image).catch(() => undefined);
      throw this.mapError(err, `writing image ${imageId}`);
    }
  }

  /** Writes object-sized chunks, several in flight; grows an image of unknown size ahead of the writes. */
  private async writeAll(image: Image, data: AsyncIterable<Uint8Array>, declared: number | undefined, signal: AbortSignal): Promise<number> {
    const writes = new WriteBehind((at, chunk) => this.rbd.write(image, at, chunk), { inFlight: IN_FLIGHT, signal });
    let offset = 0;
    let size = declared ?? 0;
    let step = this.chunkBytes;
    try {
      for await (const chunk of fixedChunks(data, this.chunkBytes)) {
        if (declared === undefined && offset + chunk.length > size) {
          // Resizing waits for the writes in flight, and grows in doubling steps to keep resizes rare.
          await writes.drain();
          size = Math.max(size + step, offset + chunk.length);
          step = Math.min(step * 2, MAX_RESIZE_STEP);
          await this.rbd.resize(image, size);
        }
        if (!(this.options.rbd_thin_provisioning && isAllZero(chunk))) await writes.write(offset, chunk);
        offset += chunk.length;
      }
      await writes.drain();
    } finally {
      // A source error or a failed resize leaves writes running: they end before the image is closed.
      await writes.settle();
    }
    return offset;
  }

  async get(location: string, options: DriverGetOptions = {}): Promise<DriverGetResult> {
    const loc = parseRbdLocation(location);
    const image = await this.openImage(loc, location);
    const done = this.reading(loc);
    try {
      // MultiStore hands over a range inside the image.
      const start = options.offset ?? 0;
      const size = options.length ?? (await this.rbd.size(image)) - start;
      const stream = readAhead({
        start,
        length: size,
        chunk: READ_BYTES,
        inFlight: READS_IN_FLIGHT,
        readAt: async (at, len) => {
          // A read past rados_osd_op_timeout fails (ETIMEDOUT): the stream errors, it never ends short.
          const buf = await this.rbd.read(image, at, len).catch((err: unknown) => Promise.reject(this.mapError(err, location)));
          if (buf.length !== len) throw new BackendError(`short read from ${location} at ${at}`);
          return buf;
        },
        close: () => this.rbd.close(image).finally(done),
      });
      return { stream, size };
    } catch (err) {
      await this.rbd.close(image).catch(() => undefined);
      done();
      throw this.mapError(err, location);
    }
  }

  /** Counts a read handle of the image until the returned function is called (once). */
  private reading(loc: RbdLocation): () => void {
    const key = `${loc.pool ?? this.options.rbd_store_pool}/${loc.image}`;
    this.readers.set(key, (this.readers.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.readers.get(key) ?? 1) - 1;
      if (n > 0) this.readers.set(key, n);
      else this.readers.delete(key);
    };
  }

  async getSize(location: string, _options?: DriverCallOptions): Promise<number> {
    const loc = parseRbdLocation(location);
    const image = await this.openImage(loc, location);
    try {
      return await this.rbd.size(image);
    } catch (err) {
      throw this.mapError(err, location);
    } finally {
      await this.rbd.close(image).catch(() => undefined);
    }
  }

  async delete(location: string, _options?: DriverCallOptions): Promise<void> {
    const loc = parseRbdLocation(location);
    const pool = loc.pool ?? this.options.rbd_store_pool;
    const streams = this.readers.get(`${pool}/${loc.image}`);
    if (streams) throw new InUseError(`Image ${loc.image} is being read by ${streams} stream(s) of store ${this.id}; it was left untouched`);
    const io = await this.ioctx(pool);
    await this.removeImage(io, loc.image, false, loc.snapshot);
  }

  /**
   * Removes an image and its snapshot. A delete refused as InUse changes
   * nothing: clients that have the image open (a reader at its snapshot) and
   * clones of its snapshot are looked for before the snapshot is touched,
   * and if the removal is still refused (a client opened it since), the
   * snapshot is made again, so the image's location keeps reading.
   * `partial`: what a failed add left, which no one else has open.
   */
  private async removeImage(io: Ioctx, name: string, partial: boolean, snapshot: string | undefined = SNAPSHOT_NAME): Promise<void> {
    if (!partial) await this.refuseIfOpen(io, name);
    let image: Image;
    try {
      image = await this.rbd.open(io, name, null);
    } catch (err) {
      if (partial && rbdCode(err) === 'ENOENT') return await this.removeUnopenable(io, name);
      throw this.mapError(err, `image ${name}`);
    }
    let snapRemoved = false;
    try {
      const snaps = await this.rbd.snapList(image);
      const clones = snapshot && snaps.includes(snapshot) ? await this.clonesOf(io, name, snapshot) : [];
      const otherSnaps = snaps.filter((s) => s !== snapshot);
      if (!partial && this.options.rbd_store_trash_cloned_images && (clones.length > 0 || otherSnaps.length > 0)) {
        await this.rbd.close(image).catch(() => undefined);
        return await this.moveToTrash(io, name, clones, otherSnaps);
      }
      if (clones.length > 0) throw new InUseError(`Image ${name} has ${clones.length} clone(s) (${clones.slice(0, 3).join(', ')}); it was left untouched`);
      if (snapshot && snaps.includes(snapshot)) {
        if (await this.rbd.snapIsProtected(image, snapshot)) await this.rbd.snapUnprotect(image, snapshot);
        await this.rbd.snapRemove(image, snapshot);
        snapRemoved = true;
      }
    } catch (err) {
      await this.rbd.close(image).catch(() => undefined);
      throw this.mapError(err, `image ${name}`);
    }
    await this.rbd.close(image);
    try {
      await this.rbd.remove(io, name);
    } catch (err) {
      // Busy (a client opened it since) or other snapshots left: the image stays, so its location must keep reading.
      const code = rbdCode(err);
      if (snapRemoved && snapshot && !partial && (code === 'EBUSY' || code === 'ENOTEMPTY')) await this.restoreSnapshot(io, name, snapshot);
      throw this.mapError(err, `Image ${name}`);
    }
  }

  /** What a create cut short may leave (an id and a directory entry, no header) cannot be opened; rbd_remove still clears it. */
  private async removeUnopenable(io: Ioctx, name: string): Promise<void> {
    try {
      await this.rbd.remove(io, name);
    } catch (err) {
      if (rbdCode(err) !== 'ENOENT') throw this.mapError(err, `Image ${name}`);
    }
  }

  /** The clones ("pool/image") of an image's snapshot, read through a handle that registers no watch. */
  private async clonesOf(io: Ioctx, name: string, snapshot: string): Promise<string[]> {
    const atSnap = await this.rbd.openReadOnly(io, name, snapshot);
    try {
      return await this.rbd.listChildren(atSnap);
    } finally {
      await this.rbd.close(atSnap).catch(() => undefined);
    }
  }

  /**
   * rbd_store_trash_cloned_images: an image that clones or other snapshots
   * keep from being removed goes to the RBD trash whole (its snapshot left
   * as it is, so the clones keep reading their parent); `rbd trash purge`
   * removes it once nothing depends on it. Busy (a client has it open): InUse.
   */
  private async moveToTrash(io: Ioctx, name: string, clones: string[], otherSnaps: string[]): Promise<void> {
    try {
      await this.rbd.trashMove(io, name);
    } catch (err) {
      throw this.mapError(err, `Image ${name}`);
    }
    const why = clones.length > 0 ? `${clones.length} clone(s) of its snapshot` : `${otherSnaps.length} other snapshot(s)`;
    this.logger.info({ store: this.id, image: name }, `image ${name} of store ${this.id} has ${why}: moved to the pool's RBD trash (rbd trash ls; purge with rbd trash purge once nothing depends on it)`);
  }

  /** InUse, before anything changes, when a client has the image open. */
  private async refuseIfOpen(io: Ioctx, name: string): Promise<void> {
    let watchers: string[];
    try {
      watchers = await this.rbd.watchers(io, name);
    } catch (err) {
      throw this.mapError(err, `image ${name}`);
    }
    if (watchers.length > 0) throw new InUseError(`Image ${name} is open by ${watchers.length} client(s) of store ${this.id}; it was left untouched`);
  }

  /** Makes the snapshot of an image whose removal was refused again: the image was never written after its add, so it is the same. */
  private async restoreSnapshot(io: Ioctx, name: string, snapshot: string): Promise<void> {
    try {
      const image = await this.rbd.open(io, name, null);
      try {
        await this.rbd.snapCreate(image, snapshot);
        await this.rbd.snapProtect(image, snapshot);
      } finally {
        await this.rbd.close(image).catch(() => undefined);
      }
      this.logger.info({ store: this.id, image: name }, `image ${name} was in use: its removal was refused and its snapshot ${snapshot} made again`);
    } catch (err) {
      this.logger.error({ store: this.id, image: name, err: { code: rbdCode(err), message: (err as Error).message } }, `image ${name} was in use and its snapshot ${snapshot} could not be made again: its location is unreadable until it is`);
    }
  }

  private async openImage(loc: RbdLocation, location: string): Promise<Image> {
    const io = await this.ioctx(loc.pool ?? this.options.rbd_store_pool);
    try {
      // Read-only, as glance_store 5.4 opens images to read: no watch is registered (a reader is not a
      // writer to other clients, and a restarted OSD does not make the next read wait for a new watch).
      return await this.rbd.openReadOnly(io, loc.image, loc.snapshot ?? null);
    } catch (err) {
      throw this.mapError(err, location);
    }
  }

  list(options?: DriverListOptions): AsyncIterable<ListedImage> {
    return listRbdImages(this.listing(), options);
  }

  leftovers(options?: DriverListOptions): AsyncIterable<StoreLeftover> {
    return rbdLeftovers(this.listing(), options);
  }

  async locationFor(imageId: string): Promise<string> {
    return this.listing().location(imageId);
  }

  private listing(): RbdListing {
    const { rbd_store_pool: pool } = this.options;
    const location = (image: string) => formatRbdLocation({ fsid: this.fsid, pool, image, snapshot: SNAPSHOT_NAME });
    return { storeId: this.id, pool, rbd: this.rbd, ioctx: () => this.ioctx(pool), location, mapError: (e, w) => this.mapError(e, w) };
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    for (const p of pools) await p.then((io) => this.rbd.close(io)).catch(() => undefined);
    await this.rbd.close(this.cluster).catch(() => undefined);
  }

  private mapError(err: unknown, what: string): GlanceStoreError {
    // A call timed out: the OSD may have been restarted, and librados does not learn that on its
    // own (every later call to it would time out too); fetching the newest OSD map makes it.
    if (rbdCode(err) === 'ETIMEDOUT') this.refreshing ??= this.rbd.refreshMap(this.cluster).catch(() => undefined).finally(() => (this.refreshing = undefined));
    return rbdError(err, what, `store ${this.id}`);
  }
}
