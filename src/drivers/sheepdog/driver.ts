/**
 * The sheepdog store: each image is a VDI named by the image id, written and
 * read object by object over sheepdog's own protocol (no `dog` or `collie`
 * on the client). Each add, get, size request and delete has a connection of
 * its own, with several object requests in flight on it; closing it is how
 * an abort or a failure stops everything that call has running.
 */
import { randomUUID } from 'node:crypto';
import { AbortedError, BackendError, GlanceStoreError, NotFoundError } from '../../errors.js';
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
import type { Logger } from '../../logger.js';
import { ByteReader } from '../../pipeline/chunks.js';
import { readAhead } from '../../pipeline/read-ahead.js';
import { WriteBehind } from '../../pipeline/write-behind.js';
import { SheepConnection, type SheepAddress } from './connection.js';
import { formatSheepdogLocation, parseSheepdogLocation } from './location.js';
import { listSheepdogImages, sheepdogLeftovers, type SheepdogListing } from './list.js';
import type { SheepdogStoreOptions } from './options.js';
import { VDI_NAME_BYTES, dataOid } from './protocol.js';
import { claimVdi, claimedByOther, markClaimDone } from './owner.js';
import { removeAddLeftover, removeVdi, type AddLeftover } from './remove.js';
import { isAnswer, newVdi, objectCount, readDataIndex, readInode, readObject, setVdiSize, vdiInfo, writeDataObject } from './vdi.js';

const MiB = 1024 * 1024;

export class SheepdogStore implements WritableStoreDriver {
  private readonly address: SheepAddress;
  private readonly timeoutMs: number;
  private readonly open = new Set<SheepConnection>();

  private constructor(
    readonly id: string,
    private readonly options: SheepdogStoreOptions,
    private readonly logger: Logger,
    private readonly reclaimer: Reclaimer,
  ) {
    this.address = { host: options.sheepdog_store_address, port: options.sheepdog_store_port };
    this.timeoutMs = options.sheepdog_store_request_timeout * 1000;
  }

  static create(ctx: DriverContext<SheepdogStoreOptions>): SheepdogStore {
    // Nothing is contacted here: a cluster that is down now fails the calls, not the store's creation.
    return new SheepdogStore(ctx.id, ctx.options, ctx.logger, ctx.reclaimer);
  }

  capabilities(): ReadonlySet<Capability> {
    return new Set<Capability>(['read', 'read-random', 'write']);
  }

  properties(): Record<string, unknown> {
    return { address: this.address.host, port: this.address.port, chunk_size_mib: this.options.sheepdog_store_chunk_size };
  }

  ownsLocation(location: string): boolean {
    try {
      const loc = parseSheepdogLocation(location);
      return loc.addr === undefined || (loc.addr === this.address.host && loc.port === this.address.port);
    } catch {
      return false;
    }
  }

  /** The old `sheepdog://<image>` is the image of that name on this store's cluster: the form an add writes today. */
  canonicalLocation(location: string): string {
    const loc = parseSheepdogLocation(location);
    return formatSheepdogLocation({ addr: loc.addr ?? this.address.host, port: loc.port ?? this.address.port, image: loc.image });
  }

  /** A new connection to `address`, closed when the store closes if the call has not closed it. */
  private connect(address: SheepAddress = this.address): SheepConnection {
    const conn = new SheepConnection(address, `the sheepdog cluster at ${address.host}:${address.port} (store ${this.id})`, this.timeoutMs);
    this.open.add(conn);
    return conn;
  }

  private release(conn: SheepConnection): void {
    conn.close();
    this.open.delete(conn);
  }

  /** Objects in flight per call: sheepdog_store_chunk_size MiB of them, at least one. */
  private inFlight(shift: number): number {
    return Math.max(1, Math.floor((this.options.sheepdog_store_chunk_size * MiB) / 2 ** shift));
  }

  async add(imageId: string, data: AsyncIterable<Uint8Array>, options: DriverAddOptions): Promise<DriverAddResult> {
    if (Buffer.byteLength(imageId) >= VDI_NAME_BYTES) throw new BackendError(`Image id ${imageId} is too long for a sheepdog VDI name (at most ${VDI_NAME_BYTES - 1} bytes)`);
    const { signal } = options;
    const location = formatSheepdogLocation({ addr: this.address.host, port: this.address.port, image: imageId });
    const conn = this.connect();
    // An abort closes the connection: every request in flight fails at once, none waits for a stalled cluster.
    const stop = () => conn.close();
    signal.addEventListener('abort', stop, { once: true });
    // What this add may have made: set once NEW_VDI was sent, unless sheep refused it.
    let left: AddLeftover | undefined;
    const token = randomUUID();
    try {
      const vdi = await newVdi(conn, imageId, options.size ?? 0, signal).catch((err: unknown) => {
        // Sheep's own refusal (Duplicate: another add's VDI) made nothing; without an answer NEW_VDI may have been carried out.
        if (!isAnswer(err)) left = { token, objects: 0 };
        throw err;
      });
      left = { vid: vdi.vid, token, objects: 0 };
      // Claimed at once, so that another add of this id that lost NEW_VDI's answer never takes this VDI for its own.
      const claim = await claimVdi(conn, imageId, vdi.vid, token, signal);
      if (claim === 'theirs') throw claimedByOther(imageId, conn.cluster);
      const objectBytes = 2 ** vdi.blockSizeShift;
      if (options.size !== undefined) left.objects = objectCount(options.size, vdi.blockSizeShift);
      const tracked = left;
      const writes = new WriteBehind<Buffer[]>((offset, pieces) => writeDataObject(conn, vdi, offset / objectBytes, pieces, signal), { inFlight: this.inFlight(vdi.blockSizeShift), signal });
      // Each object goes as the pipeline's own chunks, never gathered into one buffer: no copy, and no garbage of object size per object.
      const reader = new ByteReader(data[Symbol.asyncIterator]());
      let written = 0;
      try {
        while (await reader.more()) {
          const pieces: Buffer[] = [];
          let bytes = 0;
          for await (const piece of reader.take(objectBytes)) {
            pieces.push(Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
            bytes += piece.byteLength;
          }
          tracked.objects = Math.max(tracked.objects, written / objectBytes + 1);
          await writes.write(written, pieces);
          written += bytes;
        }
        await writes.drain();
      } catch (err) {
        reader.cancel();
        throw err;
      } finally {
        await writes.settle();
      }
      if (options.size === undefined) await setVdiSize(conn, vdi, written, signal);
      // Last: from here a listing takes the VDI for an image, not for what an add left.
      if (claim === 'ours') await markClaimDone(conn, imageId, vdi.vid, signal);
      signal.throwIfAborted();
      return { location };
    } catch (err) {
      const failure = this.addFailure(err, signal, imageId);
      conn.close();
      // A VDI made by this add is removed; one that existed already (Duplicate) is another add's.
      this.logger.debug({ store: this.id, image: imageId, err: failure }, `the add of image ${imageId} failed after ${left?.objects ?? 0} object(s)`);
      if (left) await this.removeLeftover(imageId, location, left);
      throw failure;
    } finally {
      signal.removeEventListener('abort', stop);
      this.release(conn);
    }
  }

  /** What an add rejects with: the abort reason once aborted (whatever the closed connection said), else the error. */
  private addFailure(err: unknown, signal: AbortSignal, imageId: string): unknown {
    if (signal.aborted) {
      const reason: unknown = signal.reason;
      return reason instanceof GlanceStoreError ? reason : new AbortedError(`The add of image ${imageId} to store ${this.id} was aborted`, { cause: reason });
    }
    return err;
  }

  /** Removes a failed add's VDI now, on a fresh connection, and through the reclaimer until the cluster takes it; one not proven the add's is left, and logged. */
  private async removeLeftover(imageId: string, location: string, left: AddLeftover): Promise<void> {
    await this.reclaimer.reclaim({ kind: 'VDI', location }, async (signal) => {
      const conn = this.connect();
      const stop = () => conn.close();
      signal.addEventListener('abort', stop, { once: true });
      try {
        const kept = await removeAddLeftover(conn, imageId, left, signal);
        if (kept) this.logger.warn({ store: this.id, image: imageId, location }, `left VDI ${location} in place after the failed add of image ${imageId}: ${kept}. If no add of that image succeeded, it is a leftover: remove it with dog vdi delete ${imageId}`);
      } finally {
        signal.removeEventListener('abort', stop);
        this.release(conn);
      }
    });
  }

  list(options?: DriverListOptions): AsyncIterable<ListedImage> {
    return listSheepdogImages(this.listing(), options);
  }

  leftovers(options?: DriverListOptions): AsyncIterable<StoreLeftover> {
    return sheepdogLeftovers(this.listing(), options);
  }

  /** An image's VDI is named by its id: its location is the one an add writes. */
  locationFor(imageId: string): Promise<string> {
    return Promise.resolve(formatSheepdogLocation({ addr: this.address.host, port: this.address.port, image: imageId }));
  }

  private listing(): SheepdogListing {
    return { connect: () => this.connect(), release: (conn) => this.release(conn), location: (image) => formatSheepdogLocation({ addr: this.address.host, port: this.address.port, image }) };
  }

  async get(location: string, options: DriverGetOptions = {}): Promise<DriverGetResult> {
    const { address, image } = this.resolve(location);
    const { signal } = options;
    const conn = this.connect(address);
    const stop = () => conn.close();
    signal?.addEventListener('abort', stop, { once: true });
    const done = () => {
      signal?.removeEventListener('abort', stop);
      this.release(conn);
    };
    try {
      const vdi = await vdiInfo(conn, image, signal);
      const inode = await readInode(conn, vdi, signal);
      const shift = inode.blockSizeShift || vdi.blockSizeShift;
      const objectBytes = 2 ** shift;
      const start = options.offset ?? 0;
      const length = options.length ?? Math.max(0, inode.vdiSize - start);
      const index = await readDataIndex(conn, vdi, objectCount(start + length, shift), signal);
      const readPiece = (idx: number, at: number, len: number): Promise<Buffer> => {
        const owner = index[idx] ?? 0;
        // An object never written reads as zeros, as sheep's own clients read it.
        if (owner === 0) return Promise.resolve(Buffer.alloc(len));
        return readObject(conn, dataOid(owner, idx), at, len, vdi.copies, signal);
      };
      const stream = readAhead({
        start,
        length,
        chunk: objectBytes,
        inFlight: this.inFlight(shift),
        readAt: async (at, len) => {
          // A read at an unaligned start spans two objects.
          const pieces: Promise<Buffer>[] = [];
          for (let pos = at; pos < at + len; ) {
            const idx = Math.floor(pos / objectBytes);
            const inObject = pos - idx * objectBytes;
            const take = Math.min(objectBytes - inObject, at + len - pos);
            pieces.push(readPiece(idx, inObject, take));
            pos += take;
          }
          return pieces.length === 1 ? pieces[0]! : Buffer.concat(await Promise.all(pieces));
        },
        close: () => Promise.resolve(done()),
      });
      if (signal) {
        const abortStream = () => stream.destroy(new AbortedError(`The get of ${image} from store ${this.id} was aborted`, { cause: signal.reason }));
        signal.addEventListener('abort', abortStream, { once: true });
        stream.once('close', () => signal.removeEventListener('abort', abortStream));
      }
      return { stream, size: length };
    } catch (err) {
      done();
      throw this.callFailure(err, signal, 'get', image);
    }
  }

  async getSize(location: string, options: DriverCallOptions = {}): Promise<number> {
    const { address, image } = this.resolve(location);
    return this.withConnection(address, options.signal, 'size request', image, async (conn) => {
      const vdi = await vdiInfo(conn, image, options.signal);
      return (await readInode(conn, vdi, options.signal)).vdiSize;
    });
  }

  async delete(location: string, options: DriverCallOptions = {}): Promise<void> {
    const { address, image } = this.resolve(location);
    await this.withConnection(address, options.signal, 'delete', image, (conn) => removeVdi(conn, image, 0, options.signal));
  }

  private async withConnection<T>(address: SheepAddress, signal: AbortSignal | undefined, call: string, image: string, run: (conn: SheepConnection) => Promise<T>): Promise<T> {
    const conn = this.connect(address);
    const stop = () => conn.close();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      return await run(conn);
    } catch (err) {
      throw this.callFailure(err, signal, call, image);
    } finally {
      signal?.removeEventListener('abort', stop);
      this.release(conn);
    }
  }

  /** What a get, size request or delete rejects with: the abort reason once aborted, NotFound naming the image. */
  private callFailure(err: unknown, signal: AbortSignal | undefined, call: string, image: string): unknown {
    if (signal?.aborted) {
      const reason: unknown = signal.reason;
      return reason instanceof GlanceStoreError ? reason : new AbortedError(`The ${call} of image ${image} in store ${this.id} was aborted`, { cause: reason });
    }
    if (err instanceof NotFoundError) return new NotFoundError(`Image ${image} was not found in store ${this.id}`, { cause: err });
    return err;
  }

  /** Where a location's VDI lives: its own address, or the store's for the old `sheepdog://<image>` form. */
  private resolve(location: string): { address: SheepAddress; image: string } {
    const loc = parseSheepdogLocation(location);
    return { address: loc.addr === undefined ? this.address : { host: loc.addr, port: loc.port! }, image: loc.image };
  }

  close(): Promise<void> {
    for (const conn of this.open) conn.close();
    this.open.clear();
    return Promise.resolve();
  }
}
