/**
 * MultiStore: a parsed glance-api.conf becomes a set of stores keyed by id.
 * It checks capabilities at the door, runs every add through the pipeline,
 * resolves locations to stores, copies images between stores, and keeps a
 * store that failed to start from taking the others down.
 */
import { Readable } from 'node:stream';
import { readStoresConfig, type StoreSpec } from './config/stores.js';
import type { ParsedConfig } from './config/parse.js';
import { maskSecrets } from './config/options.js';
import {
  BackendUnavailableError,
  ForbiddenError,
  GlanceStoreError,
  NotFoundError,
  RandomGetNotSupportedError,
  ReadOnlyStoreError,
  UnknownSchemeError,
  UnknownStoreError,
} from './errors.js';
import {
  isWritable,
  type AnyDriverDefinition,
  type ImageAcls,
  type LocationRecord,
  type RequestContext,
  type StoreDriver,
  type WritableStoreDriver,
} from './driver.js';
import { imageIdFromLocation, locationUrl, maskDeep, maskLocation, schemeOf } from './location.js';
import { silentLogger, type Logger } from './logger.js';
import { checkAddOptions, type AddDigest, type AddProgress } from './pipeline/add.js';
import { addImage, expectHashes, type AddResult } from './add-image.js';
import { fitRange, requestedRange } from './range.js';
import type { ImageData } from './pipeline/source.js';
import { driverRegistry } from './drivers/index.js';
import { checkImageId } from './image-id.js';
import {
  checkByteCount,
  checkCallOptions,
  checkLocation,
  checkOptionalString,
  checkOptionsObject,
  describe,
  InvalidArgumentTypeError,
} from './arguments.js';

export { checkImageId };
export type { AddResult };

export interface MultiStoreOptions {
  logger?: Logger;
  /** Overrides [DEFAULT] image_size_cap (bytes; 0 for no cap). */
  imageSizeCap?: number;
  /** Overrides [DEFAULT] os_hash_algo. */
  hashAlgo?: string;
  /**
   * Third-party driver types (made with `defineDriver`), usable in
   * enabled_backends beside the built-in ones. A type name that is already
   * taken is a BadStoreConfigurationError.
   */
  drivers?: readonly AnyDriverDefinition[];
}

export interface StoreInfo {
  id: string;
  description: string;
  default?: true;
  'read-only'?: true;
}

export interface StoreInfoDetail extends StoreInfo {
  type: string;
  weight: number;
  properties: Record<string, unknown>;
}

export interface StoreState {
  id: string;
  type: string;
  reserved: boolean;
  ok: boolean;
  /** Why the store is unusable, when it is. */
  error?: string;
  capabilities: string[];
}

export interface AddOptions {
  /** Store id; the default backend when absent. */
  store?: string;
  /**
   * Declared size in bytes (0: an empty image); absent when unknown. The add
   * fails with SizeMismatch if the data differs. A Uint8Array's size is its length.
   */
  size?: number;
  hashAlgo?: string;
  signal?: AbortSignal;
  onProgress?: (progress: AddProgress) => void;
  context?: RequestContext;
}

export interface GetOptions {
  /**
   * First byte of a ranged get. A range that starts past the end of the
   * image is an InvalidRange error; one that runs past it is cut at the end.
   */
  offset?: number;
  /** Bytes from `offset`; to the end of the image when absent. */
  length?: number;
  store?: string;
  context?: RequestContext;
  signal?: AbortSignal;
}

export interface GetResult {
  stream: Readable;
  /**
   * Bytes the stream yields (the range's length for a ranged get); absent
   * when the backend does not say (an http server without Content-Length).
   */
  size?: number;
  /** The store that served it. */
  store: string;
}

export interface CallOptions {
  store?: string;
  context?: RequestContext;
  signal?: AbortSignal;
}

export interface CopyOptions {
  /** Image id in the target store; by default the last path segment of the source location. */
  imageId?: string;
  /** Store the source location belongs to, when it cannot be told from the URI. */
  fromStore?: string;
  /** Expected md5 checksum; the copy is removed and rejected if the data differs. */
  checksum?: string;
  /** Expected multihash (with `hashAlgo`); checked like `checksum`. */
  multihash?: string;
  hashAlgo?: string;
  signal?: AbortSignal;
  onProgress?: (progress: AddProgress) => void;
  context?: RequestContext;
}

interface StoreEntry {
  spec: StoreSpec;
  driver?: StoreDriver;
  error?: GlanceStoreError;
}

export class MultiStore {
  private readonly entries: Map<string, StoreEntry>;
  private closed = false;

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
    const read = readStoresConfig(config, driverRegistry(options.drivers), options);
    for (const w of read.warnings) logger.warn({ warning: w }, w);
    const entries: StoreEntry[] = await Promise.all(
      read.stores.map(async (spec): Promise<StoreEntry> => {
        try {
          const driver = await spec.definition.create({ id: spec.id, options: spec.options, logger });
          return { spec, driver };
        } catch (err) {
          const error =
            err instanceof GlanceStoreError
              ? err
              : new BackendUnavailableError(`Store ${spec.id} could not start: ${maskLocation((err as Error)?.message ?? String(err))}`, { cause: err });
          logger.error({ store: spec.id, code: error.code }, `store ${spec.id} could not start: ${error.message}`);
          return { spec, error };
        }
      }),
    );
    const multi = new MultiStore(entries, read.defaultBackend, read.imageSizeCap, read.hashAlgo, logger);
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
    return this.visible().map((e) => this.infoOf(e));
  }

  /** Glance's /v2/info/stores/detail: adds type, weight and non-secret properties. */
  infoDetail(): StoreInfoDetail[] {
    return this.visible().map((e) => {
      const props = { ...maskSecrets(e.spec.definition.options, e.spec.options), ...(e.driver?.properties?.() ?? {}) };
      return { ...this.infoOf(e), type: e.spec.type, weight: e.spec.weight, properties: maskDeep(stripSecrets(props, e.spec)) };
    });
  }

  /** Every store's state, reserved ones included: whether it started and what it can do. */
  states(): StoreState[] {
    return [...this.entries.values()].map((e) => ({
      id: e.spec.id,
      type: e.spec.type,
      reserved: e.spec.reserved,
      ok: !!e.driver,
      ...(e.error ? { error: e.error.message } : {}),
      capabilities: e.driver ? [...e.driver.capabilities()] : [],
    }));
  }

  /** The store's driver; narrow it with `isWritable` (or use `writableStore`) before adding. */
  store(id: string): StoreDriver | WritableStoreDriver {
    return this.driverOf(id);
  }

  /** The store's driver when it can be written; ReadOnlyStoreError otherwise. */
  writableStore(id: string): WritableStoreDriver {
    const driver = this.driverOf(id);
    if (!isWritable(driver)) throw new ReadOnlyStoreError(`Store ${id} is read-only`);
    return driver;
  }

  async add(imageId: string, data: ImageData, options: AddOptions = {}): Promise<AddResult> {
    checkAddOptions(options);
    return this.addChecked(imageId, data, options);
  }

  async get(location: string | LocationRecord, options: GetOptions = {}): Promise<GetResult> {
    checkCallOptions(options);
    checkByteCount('offset', options.offset);
    checkByteCount('length', options.length);
    const range = requestedRange(options.offset, options.length);
    return this.withStore(location, options.store, range ? 'read-random' : 'read', async (driver, id, url) => {
      const call = { context: options.context, signal: options.signal };
      if (!range) return { ...(await driver.get(url, call)), store: id };
      const size = await driver.getSize(url, call);
      // A store that cannot tell the size (an http server without Content-Length) gets the range as asked.
      const fitted = size === undefined ? range : fitRange(range, size, maskLocation(url));
      if (fitted.length === 0) return { stream: Readable.from([]), size: 0, store: id };
      return { ...(await driver.get(url, { ...call, offset: fitted.offset, length: fitted.length })), store: id };
    });
  }

  /** The image's size in bytes; undefined when the backend does not say (an http server without Content-Length). */
  async getSize(location: string | LocationRecord, options: CallOptions = {}): Promise<number | undefined> {
    checkCallOptions(options);
    return this.withStore(location, options.store, 'read', (driver, _id, url) => driver.getSize(url, { context: options.context, signal: options.signal }));
  }

  async delete(location: string | LocationRecord, options: CallOptions = {}): Promise<void> {
    checkCallOptions(options);
    return this.withStore(location, options.store, 'write', async (driver, id, url) => {
      if (!isWritable(driver)) throw new ReadOnlyStoreError(`Store ${id} is read-only`);
      await driver.delete(url, { context: options.context, signal: options.signal });
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
    const url = locationUrl(location);
    const imageId = checkImageId(options.imageId ?? imageIdFromLocation(url));
    this.writableStore(toStoreId);
    const source = await this.get(location, { store: options.fromStore, context: options.context, signal: options.signal });
    try {
      // The source's size, when it has one, is the declared size: the pipeline holds the copy to it.
      return await this.addChecked(
        imageId,
        source.stream,
        { store: toStoreId, size: source.size, hashAlgo: options.hashAlgo, signal: options.signal, onProgress: options.onProgress, context: options.context },
        expectHashes(options, `Copy of ${maskLocation(url)} to store ${toStoreId}`),
      );
    } finally {
      source.stream.destroy();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.entries.values()].map((e) => e.driver?.close().catch(() => undefined)));
  }

  // ---- internals ----

  /** Every add and copy goes through here: addImage owns the cleanup after a driver. */
  private addChecked(imageId: string, data: ImageData, options: AddOptions, expect?: (digest: AddDigest) => void): Promise<AddResult> {
    checkImageId(imageId);
    const storeId = options.store ?? this.defaultBackend;
    // Checked before a byte is read: a read-only or unknown store costs nothing.
    const driver = this.writableStore(storeId);
    const { size, hashAlgo = this.hashAlgo, signal, onProgress, context } = options;
    const pipeline = { size, sizeCap: this.imageSizeCap, hashAlgo, signal, onProgress };
    return addImage({ driver, storeId, imageId, data, pipeline, context, logger: this.logger, expect });
  }

  private visible(): StoreEntry[] {
    return [...this.entries.values()].filter((e) => !e.spec.reserved);
  }

  private infoOf(e: StoreEntry): StoreInfo {
    const readOnly = e.spec.definition.readOnly === true || (e.driver ? !e.driver.capabilities().has('write') : false);
    return {
      id: e.spec.id,
      description: e.spec.description,
      ...(e.spec.id === this.defaultBackend ? { default: true as const } : {}),
      ...(readOnly ? { 'read-only': true as const } : {}),
    };
  }

  private entryOf(id: string): StoreEntry {
    if (this.closed) throw new BackendUnavailableError('The MultiStore is closed');
    const entry = this.entries.get(id);
    if (!entry) {
      throw new UnknownStoreError(`Unknown store ${JSON.stringify(id)}; enabled stores: ${[...this.entries.keys()].join(', ')}`);
    }
    return entry;
  }

  private driverOf(id: string): StoreDriver {
    const entry = this.entryOf(id);
    if (!entry.driver) throw new BackendUnavailableError(`Store ${id} is unavailable: ${entry.error?.message ?? 'not started'}`, { cause: entry.error });
    return entry.driver;
  }

  /**
   * Resolves a location to its store and runs `call` there after checking
   * the capability. A store named by the caller or by the location's
   * `metadata.store` is used as it is; otherwise the stores of the location's
   * scheme are asked (see `candidatesFor`), moving on while one answers
   * NotFound.
   */
  private async withStore<T>(
    location: string | LocationRecord,
    storeId: string | undefined,
    capability: 'read' | 'read-random' | 'write',
    call: (driver: StoreDriver, id: string, url: string) => Promise<T>,
  ): Promise<T> {
    checkLocation(location);
    checkOptionalString('store', storeId);
    const url = locationUrl(location);
    const metaStore = typeof location === 'object' && typeof location.metadata?.['store'] === 'string' ? (location.metadata['store'] as string) : undefined;
    const explicit = storeId ?? metaStore;
    const candidates = explicit ? [{ id: explicit, driver: this.driverOf(explicit), disowns: false }] : this.candidatesFor(url);
    let notFound: GlanceStoreError | undefined;
    for (const { id, driver } of candidates) {
      if (!driver.capabilities().has(capability)) {
        if (capability === 'read-random') throw new RandomGetNotSupportedError(`Store ${id} does not support ranged reads`);
        if (capability === 'write') throw new ReadOnlyStoreError(`Store ${id} is read-only`);
        throw new ForbiddenError(`Store ${id} cannot be read`);
      }
      try {
        return await call(driver, id, url);
      } catch (err) {
        if (err instanceof NotFoundError && candidates.length > 1) {
          notFound = err;
          continue;
        }
        throw err;
      }
    }
    if (candidates.every((c) => c.disowns)) {
      const ids = candidates.map((c) => c.id).join(', ');
      throw new NotFoundError(`No enabled store owns ${maskLocation(url)}: none of the ${schemeOf(url)} stores (${ids}) holds it`, { cause: notFound });
    }
    throw notFound ?? new NotFoundError(`No store holds ${maskLocation(url)}`);
  }

  /**
   * The started stores that may hold a location of this scheme: those that
   * claim it (`ownsLocation`) first, then those that cannot tell, then those
   * that disown it (a bucket or datadir of their own may still be read with
   * the location's credentials), each group by weight. A store that failed
   * to start is skipped, unless no store of the scheme started.
   */
  private candidatesFor(url: string): Array<{ id: string; driver: StoreDriver; disowns: boolean }> {
    const scheme = schemeOf(url);
    const ofScheme = [...this.entries.values()].filter((e) => e.spec.definition.schemes.includes(scheme));
    const shown = maskLocation(url);
    if (ofScheme.length === 0) throw new UnknownSchemeError(`No enabled store reads ${JSON.stringify(scheme)} locations (${shown})`);
    const started = ofScheme.filter((e): e is StoreEntry & { driver: StoreDriver } => e.driver !== undefined);
    if (started.length === 0) {
      const down = ofScheme[0]!;
      throw new BackendUnavailableError(`No store that reads ${shown} is available: store ${down.spec.id} could not start (${down.error?.message ?? 'not started'})`, {
        cause: down.error,
      });
    }
    const claim = (e: StoreEntry & { driver: StoreDriver }) => (e.driver.ownsLocation ? (e.driver.ownsLocation(url) ? 0 : 2) : 1);
    const ranked = started.sort((a, b) => claim(a) - claim(b) || b.spec.weight - a.spec.weight);
    return ranked.map((e) => ({ id: e.spec.id, driver: e.driver, disowns: claim(e) === 2 }));
  }
}

function stripSecrets(props: Record<string, unknown>, spec: StoreSpec): Record<string, unknown> {
  const secret = new Set(spec.definition.options.filter((o) => o.secret).map((o) => o.name));
  return Object.fromEntries(Object.entries(props).filter(([k]) => !secret.has(k)));
}
