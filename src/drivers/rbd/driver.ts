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
  Reclaimer,
  WritableStoreDriver,
} from '../../driver.js';
import type { Logger } from '../../logger.js';
import { fixedChunks, isAllZero } from '../../pipeline/chunks.js';
import { readAhead } from '../../pipeline/read-ahead.js';
import { WriteBehind } from '../../pipeline/write-behind.js';
import { abandonOnAbort } from '../../abandon.js';
import { rbdCode, rbdError } from './errors.js';
import { loadRbdBinding, type Cluster, type Image, type Ioctx, type RbdBinding } from './native.js';
import { SNAPSHOT_NAME, formatRbdLocation, parseRbdLocation, type RbdLocation } from './location.js';
import { DEFAULT_CONNECT_TIMEOUT, type RbdStoreOptions } from './options.js';

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
    try {
      cluster = await rbd.connect({
        confFile: o.rbd_store_ceph_conf,
        ...(o.rbd_store_user ? { user: o.rbd_store_user } : {}),
        // Every call bounded: a monitor or OSD that stops answering fails the call (ETIMEDOUT) instead of holding it.
        connectTimeout: o.rados_connect_timeout || DEFAULT_CONNECT_TIMEOUT,
        monOpTimeout: o.rados_mon_op_timeout,
        osdOpTimeout: o.rados_osd_op_timeout,
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
        await settledOrAborted(work, signal);
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
        close: () => this.rbd.close(image),
      });
      return { stream, size };
    } catch (err) {
      await this.rbd.close(image).catch(() => undefined);
      throw this.mapError(err, location);
    }
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
    const io = await this.ioctx(loc.pool ?? this.options.rbd_store_pool);
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
      if (partial && rbdCode(err) === 'ENOENT') return;
      throw this.mapError(err, `image ${name}`);
    }
    let snapRemoved = false;
    try {
      const snaps = await this.rbd.snapList(image);
      if (snapshot && snaps.includes(snapshot)) {
        const atSnap = await this.rbd.open(io, name, snapshot);
        try {
          const children = await this.rbd.listChildren(atSnap);
          if (children.length > 0) throw new InUseError(`Image ${name} has ${children.length} clone(s) (${children.slice(0, 3).join(', ')}); it was left untouched`);
        } finally {
          await this.rbd.close(atSnap).catch(() => undefined);
        }
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
      if (snapRemoved && snapshot && !partial && rbdCode(err) === 'EBUSY') await this.restoreSnapshot(io, name, snapshot);
      throw this.mapError(err, `Image ${name}`);
    }
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
      return await this.rbd.open(io, loc.image, loc.snapshot ?? null);
    } catch (err) {
      throw this.mapError(err, location);
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    for (const p of pools) await p.then((io) => this.rbd.close(io)).catch(() => undefined);
    await this.rbd.close(this.cluster).catch(() => undefined);
  }

  private mapError(err: unknown, what: string): GlanceStoreError {
    return rbdError(err, what, `store ${this.id}`);
  }
}

/** Resolves once `work` has settled; rejects with the signal's reason if it aborts first. */
function settledOrAborted(work: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<void>((resolve, reject) => {
    const abort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', abort, { once: true });
    const done = () => {
      signal.removeEventListener('abort', abort);
      resolve();
    };
    work.then(done, done);
  });
}
