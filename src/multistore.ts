/**
 * MultiStore: a parsed glance-api.conf becomes a set of stores keyed by id.
 * It checks capabilities at the door, runs every add through the pipeline,
 * resolves locations to stores, copies images between stores, and keeps a
 * store that failed to start from taking the others down.
 */
import { Readable } from 'node:stream';
import type {
  AddOptions,
  CallOptions,
  CopyOptions,
  GetOptions,
  GetResult,
  MultiStoreOptions,
  StoreInfo,
  StoreInfoDetail,
  StoreState,
} from './multistore-types.js';
import { storeHandle, type StoreCalls, type StoreHandle, type WritableStoreHandle } from './store-handle.js';
import { readStoresConfig } from './config/stores.js';
import type { ParsedConfig } from './config/parse.js';
import { BackendUnavailableError, GlanceStoreError, ReadOnlyStoreError, UnknownStoreError } from './errors.js';
import {
  isWritable,
  type DriverGetOptions,
  type ImageAcls,
  type LocationRecord,
  type StoreDriver,
  type WritableStoreDriver,
} from './driver.js';
import { imageIdFromLocation, locationUrl, maskLocation } from './location.js';
import { silentLogger, type Logger } from './logger.js';
import { checkAddOptions, type AddDigest } from './pipeline/add.js';
import { addImage, expectHashes, type AddResult } from './add-image.js';
import { inspectPolicy } from './inspect/policy.js';
import { abandonOnAbort } from './abandon.js';
import { checkReclaimOptions, createReclaimer, type PendingLeftover } from './pipeline/reclaim.js';
import { detailOf, infoOf, stateOf, type StoreEntry } from './store-entry.js';
import { withStore, type NeededCapability } from './resolve-location.js';
import { fitRange, requestedRange } from './range.js';
import type { ImageData } from './pipeline/source.js';
import { driverRegistry } from './drivers/index.js';
import { getFirst, type GetFirstOptions, type GetFirstResult } from './read-first.js';
import { verifiedGet, verifyImage, type VerifyExpected, type VerifyResult } from './verify.js';
import { listingOf, locationIn, type ListOptions, type ListedImage, type StoreLeftover } from './listing.js';
import { checkImageId } from './image-id.js';
import {
  checkByteCount,
  checkOptionalBoolean,
  checkCallOptions,
  checkLocation,
  checkOptionalString,
  checkOptionsObject,
  describe,
  InvalidArgumentTypeError,
} from './arguments.js';

export { checkImageId };
export type { AddResult };
export type * from './multistore-types.js';
export type { StoreHandle, ReadOnlyStoreHandle, WritableStoreHandle, StoreHandleBase } from './store-handle.js';

export class MultiStore implements StoreCalls {
  private readonly entries: Map<string, StoreEntry>;
  private closed = false;
  /** Stores of image locations that are not enabled here, already warned about by getFirst. */
  private readonly warnedUnknown = new Set<string>();
  private abortGraceMs?: number;

  private constructor(
    entries: StoreEntry[],
    readonly defaultBackend: string,
    private readonly imageSizeCap: number,
    private readonly hashAlgo: string,
    private readonly logger: Logger,
  ) {
    this.entries = new Map(entries.map((e) => [e.spec.id, e]));
  }

  /**
   * Validates the whole config (throwing one BadStoreConfigurationError that
   * lists every problem), then starts every store. A store that fails to
   * start is kept with its error and reported by `states()`; only a default
   * backend that cannot start is fatal.
   */
  static async create(config: ParsedConfig, options: MultiStoreOptions = {}): Promise<MultiStore> {
    const logger = options.logger ?? silentLogger;
    checkReclaimOptions(options.reclaim);
    const read = readStoresConfig(config, driverRegistry(options.drivers), options);
    for (const w of read.warnings) logger.warn({ warning: w }, w);
    const createNothing = options.createNothing === true;
    const entries: StoreEntry[] = await Promise.all(
      read.stores.map(async (spec): Promise<StoreEntry> => {
        const warnings: string[] = [];
        // The store's start-up warnings are kept for states(), and still logged.
        const storeLogger: Logger = { ...logger, warn: (o, msg) => (warnings.push(maskLocation(String(msg ?? o))), logger.warn(o, msg)) };
        const reclaimer = createReclaimer({ store: spec.id, logger, ...options.reclaim });
        try {
          const driver = await spec.definition.create({ id: spec.id, options: spec.options, logger: storeLogger, createNothing, reclaimer });
          return { spec, driver, warnings, reclaimer };
        } catch (err) {
          const error =
            err instanceof GlanceStoreError
              ? err
              : new BackendUnavailableError(`Store ${spec.id} could not start: ${maskLocation((err as Error)?.message ?? String(err))}`, { cause: err });
          logger.error({ store: spec.id, code: error.code }, `store ${spec.id} could not start: ${error.message}`);
          return { spec, error, warnings, reclaimer };
        }
      }),
    );
    const multi = new MultiStore(entries, read.defaultBackend, read.imageSizeCap, read.hashAlgo, logger);
    multi.abortGraceMs = options.reclaim?.abortGraceMs;
    const def = multi.entries.get(read.defaultBackend);
    if (def?.error) {
      await multi.close();
      if (def.error.code === 'BadStoreConfiguration') throw def.error;
      throw new BackendUnavailableError(`The default backend ${read.defaultBackend} could not start: ${def.error.message}`, { cause: def.error });
    }
    return multi;
  }

  /** Glance's /v2/info/stores: enabled stores (reserved ones are never listed). */
  info(): StoreInfo[] {
    return this.visible().map((e) => infoOf(e, this.defaultBackend));
  }

  /** Glance's /v2/info/stores/detail: adds type, weight and non-secret properties. */
  infoDetail(): StoreInfoDetail[] {
    return this.visible().map((e) => detailOf(e, this.defaultBackend));
  }

  /** Every store's state, reserved ones included: whether it started and what it can do. */
  states(): StoreState[] {
    return [...this.entries.values()].map(stateOf);
  }

  /**
   * A handle on one store: its calls go through MultiStore's checks and the
   * add pipeline. Narrow it on `writable` before adding: a store that cannot
   * write has no `add` or `delete`, in its type as at run time.
   */
  store(id: string): StoreHandle {
    const entry = this.entryOf(id);
    const driver = this.driverOf(id);
    return storeHandle(this, {
      id,
      type: entry.spec.type,
      writable: isWritable(driver),
      capabilities: () => this.driverOf(id).capabilities(),
      info: () => infoOf(entry, this.defaultBackend),
      infoDetail: () => detailOf(entry, this.defaultBackend),
    });
  }

  /** A handle on a store that can write; ReadOnlyStoreError otherwise. */
  writableStore(id: string): WritableStoreHandle {
    const handle = this.store(id);
    if (!handle.writable) throw new ReadOnlyStoreError(`Store ${id} is read-only`);
    return handle;
  }

  /**
   * For driver authors only (tests of a driver, tools that must reach the
   * backend as the driver does): the store's driver itself. Its `add` skips
   * everything MultiStore does around one (hashing, the size cap, capability
   * checks, cleanup after a failure): services use `store(id)`.
   */
  rawDriver(id: string): StoreDriver {
    return this.driverOf(id);
  }

  async add(imageId: string, data: ImageData, options: AddOptions = {}): Promise<AddResult> {
    checkAddOptions(options);
    return this.addChecked(imageId, data, options);
  }

  async get(location: string | LocationRecord, options: GetOptions = {}): Promise<GetResult> {
    checkCallOptions(options);
    checkByteCount('offset', options.offset);
    checkByteCount('length', options.length);
    checkOptionalBoolean('reuseBuffers', options.reuseBuffers);
    const range = requestedRange(options.offset, options.length);
    if (options.verify !== undefined) return verifiedGet(location, options.verify, range !== undefined, this.hashAlgo, () => this.get(location, { ...options, verify: undefined }));
    return this.withStore(location, options.store, range ? 'read-random' : 'read', async (driver, id, url) => {
      const call = { context: options.context, signal: options.signal };
      const reuse = options.reuseBuffers ? { reuseBuffers: true } : {};
      // A backend that stopped answering must not hold an aborted get: a stream it still gives is destroyed.
      const opened = (o: DriverGetOptions) => this.bounded(driver.get(url, { ...o, ...reuse }), 'The get', options.signal, (late) => late.stream.destroy());
      if (!range) return { ...(await opened(call)), store: id };
      const size = await this.bounded(driver.getSize(url, call), 'The get', options.signal);
      // A store that cannot tell the size (an http server without Content-Length) gets the range as asked.
      const fitted = size === undefined ? range : fitRange(range, size, maskLocation(url));
      if (fitted.length === 0) return { stream: Readable.from([]), size: 0, store: id };
      return { ...(await opened({ ...call, offset: fitted.offset, length: fitted.length })), store: id };
    });
  }

  /**
   * Glance's download of an image with several locations: by store weight,
   * the `prefer` stores first, each tried until one answers (src/read-first.ts).
   */
  async getFirst(locations: ReadonlyArray<string | LocationRecord>, options: GetFirstOptions = {}): Promise<GetFirstResult> {
    const weightOf = (id: string) => this.entries.get(id)?.spec.weight;
    return getFirst({ get: (l, o) => this.get(l, o), weightOf, logger: this.logger, warnedUnknown: this.warnedUnknown }, locations, options);
  }

  /**
   * Reads the whole image and hashes it, keeping none of it, as Glance's
   * location import does for `validation_data`: the digest (md5 and the
   * multihash in `hashAlgo`), and which of the given hashes it matches.
   */
  async verify(location: string | LocationRecord, options: VerifyExpected & CallOptions = {}): Promise<VerifyResult> {
    checkCallOptions(options);
    return verifyImage(options, this.hashAlgo, () => this.get(location, { store: options.store, context: options.context, signal: options.signal }));
  }

  /** The image's size in bytes; undefined when the backend does not say (an http server without Content-Length). */
  async getSize(location: string | LocationRecord, options: CallOptions = {}): Promise<number | undefined> {
    checkCallOptions(options);
    return this.withStore(location, options.store, 'read', (driver, _id, url) =>
      this.bounded(driver.getSize(url, { context: options.context, signal: options.signal }), 'The size request', options.signal),
    );
  }

  async delete(location: string | LocationRecord, options: CallOptions = {}): Promise<void> {
    checkCallOptions(options);
    return this.withStore(location, options.store, 'write', async (driver, id, url) => {
      if (!isWritable(driver)) throw new ReadOnlyStoreError(`Store ${id} is read-only`);
      await this.bounded(driver.delete(url, { context: options.context, signal: options.signal }), 'The delete', options.signal);
      this.logger.info({ store: id }, `deleted ${maskLocation(url)} from store ${id}`);
    });
  }

  /**
   * Glance's set_acls: grants projects read (or everyone, with `public`) and
   * write access to an image where the store supports it (the multi-tenant
   * swift store); elsewhere it does nothing, as in glance_store.
   */
  async setAcls(location: string | LocationRecord, acls: ImageAcls, options: CallOptions = {}): Promise<void> {
    checkCallOptions(options);
    checkOptionsObject('acls', acls);
    return this.withStore(location, options.store, 'write', async (driver, _id, url) => {
      if (isWritable(driver) && driver.setAcls) await driver.setAcls(url, acls, { context: options.context, signal: options.signal });
    });
  }

  /**
   * Glance's copy-image: streams the image from the store holding `location`
   * into `toStoreId` through the add pipeline. The copy must have the
   * source's size (when the source tells it) and the expected hashes (when
   * given); otherwise it is removed and the call rejects.
   */
  async copy(location: string | LocationRecord, toStoreId: string, options: CopyOptions = {}): Promise<AddResult> {
    checkLocation(location);
    if (typeof toStoreId !== 'string') throw new InvalidArgumentTypeError(`The "toStoreId" argument must be a store id; got ${describe(toStoreId)}`);
    checkAddOptions(options);
    for (const name of ['imageId', 'fromStore', 'checksum', 'multihash'] as const) checkOptionalString(name, options[name]);
    checkOptionalBoolean('verify', options.verify);
    inspectPolicy(options.inspect);
    const url = locationUrl(location);
    const imageId = checkImageId(options.imageId ?? imageIdFromLocation(url));
    this.writableDriver(toStoreId);
    const source = await this.get(location, { store: options.fromStore, context: options.context, signal: options.signal });
    try {
      // The source's size, when it has one, is the declared size: the pipeline holds the copy to it.
      return await this.addChecked(
        imageId,
        source.stream,
        { store: toStoreId, size: source.size, hashAlgo: options.hashAlgo, signal: options.signal, onProgress: options.onProgress, context: options.context, inspect: options.inspect },
        options.verify === false ? undefined : expectHashes(options, `Copy of ${maskLocation(url)} to store ${toStoreId}`),
      );
    } finally {
      source.stream.destroy();
    }
  }

  /** The images a store holds, page by page (src/listing.ts); Forbidden where its driver cannot list. */
  list(storeId: string, options: ListOptions = {}): AsyncGenerator<ListedImage, void, undefined> {
    checkCallOptions(options);
    return listingOf<ListedImage>(() => this.driverOf(storeId), storeId, 'list', options);
  }

  /** What adds that died (or are still running) left in a store: each with its kind and age. */
  leftovers(storeId: string, options: ListOptions = {}): AsyncGenerator<StoreLeftover, void, undefined> {
    checkCallOptions(options);
    return listingOf<StoreLeftover>(() => this.driverOf(storeId), storeId, 'leftovers', options);
  }

  /** The location of image `imageId` in a store whose driver can tell it from the id (file, rbd, swift, s3). */
  async locationFor(storeId: string, imageId: string, options: ListOptions = {}): Promise<string> {
    checkCallOptions(options);
    return locationIn(this.driverOf(storeId), storeId, this.entryOf(storeId).spec.type, imageId, options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.entries.values()) e.reclaimer.close();
    await Promise.all([...this.entries.values()].map((e) => e.driver?.close().catch(() => undefined)));
  }

  /**
   * What failed adds left in the backends that is still waiting to be
   * removed (the backend was down when the add failed): each is tried again
   * until it is gone or the MultiStore closes, and logged either way.
   */
  pendingCleanups(): PendingLeftover[] {
    return [...this.entries.values()].flatMap((e) => e.reclaimer.pending());
  }

  // ---- internals ----

  /** Every add and copy goes through here: addImage owns the cleanup after a driver. */
  private addChecked(imageId: string, data: ImageData, options: AddOptions, expect?: (digest: AddDigest) => void): Promise<AddResult> {
    checkImageId(imageId);
    const storeId = options.store ?? this.defaultBackend;
    // Checked before a byte is read: a read-only or unknown store costs nothing.
    const driver = this.writableDriver(storeId);
    const { size, hashAlgo = this.hashAlgo, signal, onProgress, context } = options;
    const pipeline = { size, sizeCap: this.imageSizeCap, hashAlgo, signal, onProgress };
    const { reclaimer, spec } = this.entryOf(storeId);
    // The add's own option wins over the store's (this library's `inspect` option).
    const inspect = inspectPolicy(options.inspect ?? (spec.inspect === 'off' ? undefined : { safety: spec.inspect }));
    return addImage({ driver, storeId, imageId, data, pipeline, context, logger: this.logger, reclaimer, abortGraceMs: this.abortGraceMs, expect, inspect });
  }

  /** A driver call that answers its caller within the grace period of an abort (src/abandon.ts). */
  private bounded<T>(call: Promise<T>, what: string, signal: AbortSignal | undefined, late?: (value: T) => void): Promise<T> {
    return abandonOnAbort(call, what, { signal, graceMs: this.abortGraceMs, late });
  }

  private visible(): StoreEntry[] {
    return [...this.entries.values()].filter((e) => !e.spec.reserved);
  }

  private entryOf(id: string): StoreEntry {
    if (this.closed) throw new BackendUnavailableError('The MultiStore is closed');
    const entry = this.entries.get(id);
    if (!entry) {
      throw new UnknownStoreError(`Unknown store ${JSON.stringify(id)}; enabled stores: ${[...this.entries.keys()].join(', ')}`);
    }
    return entry;
  }

  private writableDriver(id: string): WritableStoreDriver {
    const driver = this.driverOf(id);
    if (!isWritable(driver)) throw new ReadOnlyStoreError(`Store ${id} is read-only`);
    return driver;
  }

  private driverOf(id: string): StoreDriver {
    const entry = this.entryOf(id);
    if (!entry.driver) throw new BackendUnavailableError(`Store ${id} is unavailable: ${entry.error?.message ?? 'not started'}`, { cause: entry.error });
    return entry.driver;
  }

  /** Resolves a location to its store and runs `call` there after checking the capability (src/resolve-location.ts). */
  private withStore<T>(
    location: string | LocationRecord,
    storeId: string | undefined,
    capability: NeededCapability,
    call: (driver: StoreDriver, id: string, url: string) => Promise<T>,
  ): Promise<T> {
    return withStore({ entries: () => this.entries.values(), driverOf: (id) => this.driverOf(id) }, location, storeId, capability, call);
  }
}
