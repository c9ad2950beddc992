/**
 * The file store: images are files named by image id in one of the store's
 * datadirs. An add writes to a hidden temporary name and links it to the
 * final name only when the whole image is in, so no half-written image is
 * ever visible and an existing image is never overwritten (link, unlike
 * rename, fails if the name exists).
 */
import { constants, promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { BackendUnavailableError, ForbiddenError, NotFoundError, fromSystemError, DuplicateError } from '../../errors.js';
import { throwStoreProblems } from '../store-problems.js';
import { maskLocation } from '../../location.js';
import type { Logger } from '../../logger.js';
import type { Reclaimer } from '../../pipeline/reclaim.js';
import type {
  Capability,
  DriverAddOptions,
  DriverAddResult,
  DriverContext,
  DriverGetOptions,
  DriverGetResult,
  DriverListOptions,
  ListedImage,
  StoreLeftover,
  WritableStoreDriver,
} from '../../driver.js';
import { fileLeftovers, listFileImages } from './list.js';
import { isAllZero } from '../../pipeline/chunks.js';
import { canWrite, chooseDatadir, freeBytes, prepareDatadirs, readDatadirs, type Datadir } from './datadirs.js';
import { formatFileLocation, parseFileLocation } from './location.js';
import type { FileStoreOptions } from './options.js';
import { FILE_DATADIR_DEFAULT } from './options.js';
import { rangeStream } from './reader.js';
import { checkImageId } from '../../image-id.js';
import { loadMetadataFile, metadataFor, type StoreMetadata } from './metadata.js';
import { HangGuard } from './hang-guard.js';

/** Reads are at least this large: each is a hop to the thread pool, which costs more than copying a MiB (reader.ts). */
const MIN_READ_BYTES = 4 * 1024 * 1024;
/** How often a datadir whose file system turned read-only is looked at again, to take images once it is writable. */
const RECHECK_MS = 2000;


export class FileStore implements WritableStoreDriver {
  /** Datadirs that turned read-only while the store ran, each looked at again every RECHECK_MS. */
  private readonly rechecks = new Map<Datadir, NodeJS.Timeout>();

  /** Each block is given back once written (writeAll), so adds reuse the pipeline's blocks. */
  readonly releasesBlocks = true;

  private constructor(
    readonly id: string,
    private readonly datadirs: Datadir[],
    private readonly options: FileStoreOptions,
    private readonly metadata: StoreMetadata | undefined,
    private readonly logger: Logger,
    private readonly reclaimer: Reclaimer,
    /** filesystem_store_timeout: every file system call of the store goes through it. */
    private readonly guard: HangGuard,
  ) {}

  static async create(ctx: DriverContext<FileStoreOptions>): Promise<FileStore> {
    const options = ctx.options;
    const problems: string[] = [];
    // filesystem_store_datadir has a default; only an explicitly different value conflicts with datadirs.
    const multi = options.filesystem_store_datadirs;
    const single = multi?.length && options.filesystem_store_datadir === FILE_DATADIR_DEFAULT ? undefined : options.filesystem_store_datadir;
    // The options' rules (FILE_OPTIONS) were checked with the whole config: what is left is the machine's.
    const dirs = readDatadirs(single, multi, problems);
    const perm = options.filesystem_store_file_perm;
    const metadata = options.filesystem_store_metadata_file ? await loadMetadataFile(options.filesystem_store_metadata_file, problems) : undefined;
    throwStoreProblems(ctx.id, problems);
    const datadirs = await prepareDatadirs(dirs, perm ? parseInt(String(perm), 8) : 0, ctx.createNothing === true);
    for (const d of datadirs.filter((x) => !x.writable)) ctx.logger.warn({ store: ctx.id, datadir: d.path }, `datadir ${d.path} ${d.missing ? 'cannot be created' : 'is not writable'}: store ${ctx.id} is read-only there`);
    if (multi?.length) {
      // glance_store 5.0 deprecated it; once per store, at create.
      ctx.logger.warn({ store: ctx.id, option: 'filesystem_store_datadirs' }, `store ${ctx.id}: filesystem_store_datadirs is deprecated (glance_store 5.0) and will be removed: configure one file store per directory instead (enabled_backends = fast:file, cheap:file, ... each with its own filesystem_store_datadir)`);
    }
    const guard = new HangGuard({
      store: ctx.id,
      timeoutSeconds: options.filesystem_store_timeout,
      poolSize: options.filesystem_store_thread_pool_size,
      thresholdPercent: options.filesystem_store_threadpool_threshold,
      logger: ctx.logger,
    });
    return new FileStore(ctx.id, datadirs, options, metadata, ctx.logger, ctx.reclaimer, guard);
  }

  capabilities(): ReadonlySet<Capability> {
    const caps: Capability[] = ['read', 'read-random'];
    if (this.datadirs.some((d) => d.writable)) caps.push('write');
    return new Set(caps);
  }

  properties(): Record<string, unknown> {
    return { datadirs: this.datadirs.map((d) => ({ path: d.path, priority: d.priority, writable: d.writable })) };
  }

  ownsLocation(location: string): boolean {
    try {
      return this.datadirOf(parseFileLocation(location)) !== undefined;
    } catch {
      return false;
    }
  }

  async add(imageId: string, data: AsyncIterable<Uint8Array>, options: DriverAddOptions): Promise<DriverAddResult> {
    // MultiStore checks ids too; the driver checks again because the id becomes a path.
    checkImageId(imageId);
    const io = this.guard;
    const dir = await chooseDatadir(this.datadirs, options.size, (d) => io.run(`Measuring the free space of ${d}`, () => freeBytes(d)));
    const finalPath = path.join(dir.path, imageId);
    if (await io.run(`Looking up image ${imageId}`, () => exists(finalPath))) throw new DuplicateError(`Image ${imageId} already exists in store ${this.id} (${formatFileLocation(finalPath)})`);
    // The id is cut so that the name stays within NAME_MAX (255) for the longest ids glance_store stores.
    const tmpPath = path.join(dir.path, `.${imageId.slice(0, 200)}.${randomBytes(6).toString('hex')}.partial`);
    const perm = this.options.filesystem_store_file_perm ? parseInt(String(this.options.filesystem_store_file_perm), 8) : 0o666;
    let handle: fs.FileHandle | undefined;
    let created = false;
    try {
      const writing = `Writing image ${imageId}`;
      // An open or link that answers after its timeout left a file the failed add must not leave.
      const leftBehind = (p: string) => void this.reclaimer.reclaim({ kind: 'partial file', location: formatFileLocation(p) }, () => this.unlinkIfThere(p, dir)).catch(() => undefined);
      handle = await io.run(writing, () => fs.open(tmpPath, 'wx', perm), {
        late: (h) => {
          void h.close().finally(() => leftBehind(tmpPath));
        },
      });
      created = true;
      const open = handle;
      const size = await this.writeAll(open, data, options.release);
      // Holes left at the end by thin provisioning only count once the length is set.
      if (this.options.filesystem_thin_provisioning) await io.run(writing, () => open.truncate(size));
      if (this.options.filesystem_store_file_perm) await io.run(writing, () => open.chmod(perm));
      handle = undefined;
      await io.run(writing, () => open.close(), { always: true });
      options.signal.throwIfAborted();
      await io.run(writing, () => fs.link(tmpPath, finalPath), { late: () => leftBehind(finalPath) });
    } catch (err) {
      const left = handle;
      if (left) await io.run(`Closing image ${imageId}`, () => left.close(), { always: true }).catch(() => undefined);
      // Whatever failed, the partial file goes; on a disk that refuses even that, once it no longer does.
      if (created) await this.removePartial(tmpPath, dir);
      if ((err as NodeJS.ErrnoException).code === 'EROFS') this.turnedReadOnly(dir);
      // ENOENT here is the datadir itself gone, not a missing image.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await io.run(`Looking up ${dir.path}`, () => exists(dir.path)).catch(() => false))) {
        throw new BackendUnavailableError(`The datadir ${dir.path} of store ${this.id} is missing: image ${imageId} was not written`, { cause: err });
      }
      throw fromSystemError(err, `Writing image ${imageId} to store ${this.id}`);
    }
    // The image is whole under its final name: the hidden name is only a second link to it.
    await this.removePartial(tmpPath, dir);
    return { location: formatFileLocation(finalPath), metadata: metadataFor(this.metadata, finalPath) };
  }

  /**
   * Removes an add's hidden partial file through the store's reclaimer, so
   * that one the disk refuses to remove now (a file system that turned
   * read-only) is removed once it can be, and logged with its location
   * until then.
   */
  private async removePartial(tmpPath: string, dir: Datadir): Promise<void> {
    await this.reclaimer.reclaim({ kind: 'partial file', location: formatFileLocation(tmpPath) }, () => this.unlinkIfThere(tmpPath, dir));
  }

  private async unlinkIfThere(filePath: string, dir: Datadir): Promise<void> {
    try {
      await this.guard.run(`Removing ${filePath}`, () => fs.unlink(filePath));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(err, `Removing ${filePath} from store ${this.id}`);
      // Gone, unless the datadir itself is what is missing (an unmounted disk): it may come back with the file.
      if (!(await this.guard.run(`Looking up ${dir.path}`, () => exists(dir.path)))) throw new BackendUnavailableError(`The datadir ${dir.path} of store ${this.id} is missing`);
    }
  }

  /**
   * A datadir whose file system answered EROFS takes no more images (the
   * store loses `write` when it was the last writable one) until it is
   * writable again, which is checked every RECHECK_MS.
   */
  private turnedReadOnly(dir: Datadir): void {
    if (!dir.writable || this.rechecks.has(dir)) return;
    dir.writable = false;
    this.logger.warn({ store: this.id, datadir: dir.path }, `datadir ${dir.path} of store ${this.id} is on a read-only file system: no images go there until it is writable again`);
    let checking = false;
    const timer = setInterval(() => {
      if (checking) return;
      checking = true;
      void canWrite(dir.path).then((ok) => {
        checking = false;
        if (!ok || this.rechecks.get(dir) !== timer) return;
        clearInterval(timer);
        this.rechecks.delete(dir);
        dir.writable = true;
        this.logger.info({ store: this.id, datadir: dir.path }, `datadir ${dir.path} of store ${this.id} is writable again`);
      });
    }, RECHECK_MS).unref();
    this.rechecks.set(dir, timer);
  }

  /** Writes while the next block is being read and hashed: one write in flight. */
  private async writeAll(handle: fs.FileHandle, data: AsyncIterable<Uint8Array>, release: (block: Uint8Array) => void = () => undefined): Promise<number> {
    const thin = this.options.filesystem_thin_provisioning;
    const piece = this.options.filesystem_store_chunk_size;
    let position = 0;
    let inFlight: Promise<unknown> = Promise.resolve();
    try {
      for await (const block of data) {
        await inFlight;
        const at = position;
        position += block.byteLength;
        inFlight = (thin ? this.writeSparse(handle, block, at, piece) : this.writePieces(handle, block, at)).finally(() => release(block));
        // Observed now, awaited later: a failed write must not surface as an unhandled rejection
        // while the next block is being read.
        inFlight.catch(() => undefined);
      }
      await inFlight;
    } catch (err) {
      await inFlight.catch(() => undefined);
      throw err;
    }
    return position;
  }

  private async writeSparse(handle: fs.FileHandle, block: Uint8Array, at: number, piece: number): Promise<void> {
    for (let off = 0; off < block.byteLength; off += piece) {
      const part = block.subarray(off, Math.min(off + piece, block.byteLength));
      if (!isAllZero(part)) await this.writeFully(handle, part, at + off);
    }
  }

  /** Settles once every piece has (the block is lent: it is given back only when no write reads it). */
  private async writePieces(handle: fs.FileHandle, block: Uint8Array, at: number): Promise<void> {
    const writes: Array<Promise<void>> = [];
    for (let off = 0; off < block.byteLength; off += WRITE_PIECE) writes.push(this.writeFully(handle, block.subarray(off, Math.min(off + WRITE_PIECE, block.byteLength)), at + off));
    const failed = (await Promise.allSettled(writes)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async writeFully(handle: fs.FileHandle, buf: Uint8Array, position: number): Promise<void> {
    let off = 0;
    while (off < buf.byteLength) {
      const { bytesWritten } = await this.guard.run(`Writing at offset ${position + off}`, () => handle.write(buf, off, buf.byteLength - off, position + off));
      off += bytesWritten;
    }
  }

  async get(location: string, options: DriverGetOptions = {}): Promise<DriverGetResult> {
    const shown = maskLocation(location);
    const filePath = await this.imagePath(location);
    // O_NOFOLLOW: the path was resolved and checked; a link put in its place since is refused.
    const io = this.guard;
    const reading = `Reading ${shown}`;
    const handle = await io.run(reading, () => fs.open(filePath, constants.O_RDONLY | constants.O_NOFOLLOW), { late: (h) => void h.close().catch(() => undefined) }).catch((err: unknown) => {
      throw fromSystemError(err, `Image ${shown}`);
    });
    const close = () => io.run(`Closing ${shown}`, () => handle.close(), { always: true });
    try {
      const st = await io.run(reading, () => handle.stat());
      if (!st.isFile()) throw new NotFoundError(`${shown} is not an image: it names a ${st.isDirectory() ? 'directory' : 'special file'}`);
      // MultiStore hands over a range inside the image.
      const start = options.offset ?? 0;
      const size = options.length ?? st.size - start;
      const readBytes = Math.max(this.options.filesystem_store_chunk_size, MIN_READ_BYTES);
      if (size === 0) {
        await close();
        return { stream: Readable.from([]), size };
      }
      const reads = { read: <T>(call: () => Promise<T>) => io.run(reading, call), close };
      const stream = rangeStream(handle, start, size, readBytes, options.reuseBuffers === true, (err) => fromSystemError(err, reading), reads);
      return { stream, size };
    } catch (err) {
      await close().catch(() => undefined);
      throw fromSystemError(err, `Image ${shown}`);
    }
  }

  async getSize(location: string): Promise<number> {
    const filePath = await this.imagePath(location);
    const st = await this.guard.run(`Sizing ${maskLocation(location)}`, () => fs.stat(filePath)).catch((err: unknown) => {
      throw fromSystemError(err, `Image ${maskLocation(location)}`);
    });
    if (!st.isFile()) throw new NotFoundError(`${maskLocation(location)} is not an image: it names a ${st.isDirectory() ? 'directory' : 'special file'}`);
    return st.size;
  }

  async delete(location: string): Promise<void> {
    // Checked like a read: nothing outside the datadirs is ever removed. The entry
    // itself is unlinked (a link inside the datadir, never what it points to).
    await this.imagePath(location);
    const filePath = this.pathOf(location);
    try {
      await this.guard.run(`Deleting ${maskLocation(location)}`, () => fs.unlink(filePath));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') throw new ForbiddenError(`Deleting ${maskLocation(location)} from store ${this.id}: permission denied`, { cause: err });
      if (code === 'EISDIR') throw new NotFoundError(`${maskLocation(location)} is not an image: it names a directory`, { cause: err });
      throw fromSystemError(err, `Image ${maskLocation(location)}`);
    }
  }

  list(options?: DriverListOptions): AsyncIterable<ListedImage> {
    return listFileImages(this.datadirs, this.id, options);
  }

  leftovers(options?: DriverListOptions): AsyncIterable<StoreLeftover> {
    return fileLeftovers(this.datadirs, this.id, options);
  }

  /** The datadir that holds the image (the first, when none does: a get then answers NotFound). */
  async locationFor(imageId: string): Promise<string> {
    const paths = this.datadirs.map((d) => path.join(d.path, checkImageId(imageId)));
    for (const p of paths) if (await exists(p).catch(() => false)) return formatFileLocation(p);
    return formatFileLocation(paths[0]!);
  }

  async close(): Promise<void> {
    for (const timer of this.rechecks.values()) clearInterval(timer);
    this.rechecks.clear();
  }

  private datadirOf(filePath: string): Datadir | undefined {
    return this.datadirs.find((d) => path.dirname(filePath) === d.path);
  }

  /** The image file a location names, which must be inside one of this store's datadirs. */
  private pathOf(location: string): string {
    const filePath = parseFileLocation(location);
    if (!this.datadirOf(filePath) || path.basename(filePath).startsWith('.')) {
      throw new NotFoundError(`${maskLocation(location)} is not an image of store ${this.id}`);
    }
    return filePath;
  }

  /**
   * The real path of the image a location names, with every link resolved. It
   * must still lie in one of this store's datadirs: a link that leads out of
   * them (to /etc/passwd, say) is refused, never followed.
   */
  private async imagePath(location: string): Promise<string> {
    const filePath = this.pathOf(location);
    const real = await this.guard.run(`Looking up ${maskLocation(location)}`, () => fs.realpath(filePath)).catch((err: unknown) => {
      // Named with the store: several stores of one scheme may be asked in turn.
      throw fromSystemError(err, `Image ${maskLocation(location)} in store ${this.id}`);
    });
    if (!this.datadirs.some((d) => path.dirname(real) === d.realPath)) {
      throw new ForbiddenError(`${maskLocation(location)} is a link that leads outside the datadirs of store ${this.id}: refused`);
    }
    return real;
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}

/**
 * A block is written in pieces of this size, all in flight at once. The kernel sizes the
 * page-cache folios of a new file by the write: a 1 MiB write takes large folios, which come
 * from free memory in high-order blocks, and on a virtual machine that returns free memory to
 * its host (free page reporting) each such folio faults on the host when first written: a new
 * file written 1 MiB at a time ran at 250-420 MB/s here against about 1,500 MB/s in 128 KiB
 * writes (3,300 at best in 64 KiB ones), and `perf` put the kernel's copy into the page cache at
 * 22-35% of an add's CPU with 1 MiB writes, under 3% with 64 KiB ones. 128 KiB pieces measured
 * as fast as 64 KiB ones in the add, with half the trips to the thread pool
 * (docs/performance.md, "The file add").
 */
const WRITE_PIECE = 128 * 1024;
