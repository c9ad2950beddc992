/**
 * The driver contract. A read-only backend implements `StoreDriver`; a backend
 * that can store images implements `WritableStoreDriver`, the only type with
 * `add` and `delete`. Because the read-only type simply has no write methods,
 * writing to an http store is a compile-time error, not only a runtime one.
 */
import type { Readable } from 'node:stream';
import type { OptionSpec, OptionValues, OptionsOf } from './config/schema.js';
import type { Logger } from './logger.js';

/**
 * What a store can do. `read-random` is a ranged get; `write` covers add and
 * delete. Drivers declare them; a store narrows them at run time when the
 * backend says so (a datadir that is not writable loses `write`).
 */
export type Capability = 'read' | 'read-random' | 'write';

/** A Glance location: the URI plus the metadata stored beside it. */
export interface LocationRecord {
  url: string;
  metadata?: Record<string, unknown>;
}

/** Per-call credentials for multi-tenant stores (Glance's request context). */
export interface RequestContext {
  authToken?: string;
  projectId?: string;
  userId?: string;
  serviceCatalog?: unknown[];
  [key: string]: unknown;
}

export interface DriverGetOptions {
  /**
   * A ranged get, as MultiStore checked it against the image's size:
   * `offset` and `length` are both set, integers, `length >= 1` and
   * `offset + length <= size`. Both are absent for the whole image. Only
   * when `getSize` cannot tell the size (undefined) is the range passed as
   * the caller asked it (`length` may then be absent or run past the end).
   */
  offset?: number;
  /** Number of bytes to return from `offset`. */
  length?: number;
  /** The caller's promise (GetOptions.reuseBuffers): the stream may reuse a chunk's buffer once the chunk after it is read. */
  reuseBuffers?: boolean;
  context?: RequestContext;
  signal?: AbortSignal;
}

export interface DriverGetResult {
  /** The image bytes, or the requested range of them. */
  stream: Readable;
  /** How many bytes `stream` yields; undefined only when the backend does not say. */
  size?: number;
}

export interface DriverAddOptions {
  /** The declared image size in bytes (0: an empty image); absent when unknown. */
  size?: number;
  /** Aborted when the add must stop; the driver cleans up and rejects. */
  signal: AbortSignal;
  context?: RequestContext;
  /**
   * Present when the driver declares `releasesBlocks`: gives a block of `data`
   * back once the driver is done with it (written, or no longer needed), so the
   * pipeline reuses its memory instead of allocating a new block. The driver
   * must not touch a block's bytes after giving it back; blocks it keeps past
   * what the pipeline lends at once arrive as copies, and whatever it still
   * holds when its add settles is taken back then.
   */
  release?: (block: Uint8Array) => void;
}

export interface DriverAddResult {
  /** The location URI, exactly as glance_store writes it for this backend. */
  location: string;
  /** Extra location metadata (the file driver's metadata file, for one). */
  metadata?: Record<string, unknown>;
}

export interface DriverCallOptions {
  context?: RequestContext;
  signal?: AbortSignal;
}

/** A store that can be read. */
export interface StoreDriver {
  /** What the store can do now. */
  capabilities(): ReadonlySet<Capability>;
  get(location: string, options?: DriverGetOptions): Promise<DriverGetResult>;
  /** The image's size in bytes; undefined when the backend cannot tell (an http server without Content-Length). */
  getSize(location: string, options?: DriverCallOptions): Promise<number | undefined>;
  /**
   * Whether a location belongs to this store (same datadir, cluster, bucket...),
   * so that several stores of one scheme can be told apart. Optional: without
   * it, a store is tried in order with the others of its scheme.
   */
  ownsLocation?(location: string): boolean;
  /**
   * Optional: the one form of a location this store owns, where an image
   * has several (cinder's legacy `cinder://<volume>` and
   * `cinder://<store>/<volume>`), so that an audit matches Glance's record
   * of either form with the listing. Without it, locations compare as written.
   */
  canonicalLocation?(location: string): string;
  /** Properties shown by `infoDetail()`: never secrets. */
  properties?(): Record<string, unknown>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
  /**
   * Optional (docs/writing-a-driver.md, "Listing"): the images the store
   * holds, page by page, so a store of a million images streams in flat
   * memory. Only whole images: never a segment, snapshot, manifest,
   * multipart part, claim or an add's temporary name.
   */
  list?(options?: DriverListOptions): AsyncIterable<ListedImage>;
  /**
   * Optional: what this library's adds may have left when their process
   * died (partial files, unfinished multipart uploads, segments without a
   * manifest...), each with its kind and age. An add still running shows
   * here too, young: callers spare recent ones.
   */
  leftovers?(options?: DriverListOptions): AsyncIterable<StoreLeftover>;
  /**
   * Optional: the location an image of this id has (or would have) in this
   * store, where the id tells it (a file, object or rbd image named by the
   * id). A store that names images otherwise (cinder: a volume id) leaves it out.
   */
  locationFor?(imageId: string, options?: DriverListOptions): Promise<string>;
}

export interface DriverListOptions {
  signal?: AbortSignal;
  context?: RequestContext;
}

/** One image a store holds, as `list` gives it. */
export interface ListedImage {
  id: string;
  /** Bytes; undefined where the backend does not tell it without reading the image. */
  size: number | undefined;
  /** The location URI, as an add of this image would have written it. */
  location: string;
  /** When it was written, where the listing tells it (an audit spares recent orphans). */
  since?: Date;
}

/** Something an add left in the backend that is not an image. */
export interface StoreLeftover {
  /** `partial file`, `multipart upload`, `claim`, `segment`, `image without snapshot`... */
  kind: string;
  location: string;
  /** The image id it was written for, when its name tells it. */
  imageId?: string;
  /** When it was written (or last changed); undefined when the backend does not say. */
  since: Date | undefined;
  size?: number;
}

/** A store that can also add and delete images. */
export interface WritableStoreDriver extends StoreDriver {
  /**
   * Stores `data` under `imageId`. The data arrives already counted, hashed and
   * checked by the add pipeline: it throws mid-iteration on a size cap, size
   * mismatch, abort or source error. On any failure the driver removes what it
   * wrote before rejecting, and it never overwrites an existing image
   * (`DuplicateError`), also when two adds of one id race. Once it has
   * resolved, MultiStore owns the location: if the add still fails, MultiStore
   * deletes it (docs/writing-a-driver.md, "When an add fails").
   */
  add(imageId: string, data: AsyncIterable<Uint8Array>, options: DriverAddOptions): Promise<DriverAddResult>;
  /** True when `add` gives every block back through `options.release` once it has written it. */
  readonly releasesBlocks?: boolean;
  delete(location: string, options?: DriverCallOptions): Promise<void>;
  /**
   * Who may read and write one image in the backend (glance_store's
   * set_acls, which only the multi-tenant swift store implements). Optional:
   * stores without per-image access control leave it out.
   */
  setAcls?(location: string, acls: ImageAcls, options?: DriverCallOptions): Promise<void>;
}

/** Access to one image, by project id. */
export interface ImageAcls {
  public?: boolean;
  readTenants?: readonly string[];
  writeTenants?: readonly string[];
}

export function isWritable(driver: StoreDriver): driver is WritableStoreDriver {
  return typeof (driver as Partial<WritableStoreDriver>).add === 'function' && driver.capabilities().has('write');
}

/** What a failed add left: its kind (`partial file`, `multipart upload`, `segment`...) and where. */
export interface LeftoverRef {
  kind: string;
  location: string;
}

/** A leftover still waiting to be removed. */
export interface PendingLeftover extends LeftoverRef {
  /** Its location, credentials masked. */
  location: string;
  store: string;
  /** When it was first handed over. */
  since: Date;
  attempts: number;
  /** The last attempt's error message (masked). */
  lastError?: string;
}

/** Removes one leftover; `signal` aborts when the attempt's time is up. NotFound counts as removed. */
export type RemoveLeftover = (signal: AbortSignal) => Promise<void>;

/** How long the caller of `reclaim` waits for the first attempt, at most. */
export interface ReclaimOptions {
  waitMs?: number;
}

/** A store's reclaimer (src/pipeline/reclaim.ts makes them). */
export interface Reclaimer {
  /**
   * Removes a leftover now and, if that fails, again later. Resolves when
   * the first attempt has settled: true when the leftover is gone, false
   * when it is kept for another attempt. Never rejects. With `waitMs`, it
   * resolves false at the latest after that long (an add that must answer
   * soon, e.g. once aborted); the attempt and the retries go on.
   */
  reclaim(leftover: LeftoverRef, remove: RemoveLeftover, options?: ReclaimOptions): Promise<boolean>;
  /** The leftovers still waiting to be removed, oldest first. */
  pending(): PendingLeftover[];
  /** Stops retrying; each leftover still pending is logged as left behind. */
  close(): void;
}

/** What a driver's `create` is given to build one store. */
export interface DriverContext<Options = OptionValues> {
  /** The store id (the section name in glance-api.conf). */
  id: string;
  /**
   * The store's options, read from its section against the driver's schema:
   * `$`-references substituted, values converted as oslo.config converts
   * them, defaults applied. Typed from the schema by `defineDriver`.
   */
  options: Options;
  /** The MultiStore's logger (silent unless the caller injected one). */
  logger: Logger;
  /**
   * The store is opened only to be looked at (`glance-store check`,
   * `stores`): make nothing in the backend (no directory, container or
   * bucket), and answer `capabilities()` as the store would have them.
   */
  createNothing?: boolean;
  /**
   * The store's reclaimer: hand it what a failed add leaves when removing
   * it fails (the backend is down, the call timed out), with the call that
   * removes it; it is tried again until it succeeds or the store closes,
   * and logged either way (createReclaimer makes one for a driver built
   * outside a MultiStore).
   */
  reclaimer: Reclaimer;
}

/** A driver type: its name, location schemes, option schema and how to build one store. */
export interface DriverDefinition<Schema extends readonly OptionSpec[] = readonly OptionSpec[], Driver extends StoreDriver = StoreDriver> {
  /** The type name written in enabled_backends (`file`, `rbd`, ...). */
  readonly type: string;
  /** URI schemes of its locations. */
  readonly schemes: readonly string[];
  /** The type can never write (http): its stores are listed `read-only`. */
  readonly readOnly: boolean;
  /** Every option a store section of this type may hold, declared once. */
  readonly options: Schema;
  /**
   * Builds one store. Called once per store by `MultiStore.create`; load
   * heavy dependencies (SDKs, native bindings) here, with `import()`, so they
   * cost nothing until a store of the type is configured.
   */
  readonly create: (context: DriverContext<OptionsOf<Schema>>) => Driver | Promise<Driver>;
}

/**
 * Any driver definition, whatever its option schema: what MultiStore keeps.
 * `create`'s context is loosely typed here because each driver's option type
 * differs; the definition itself was checked against its schema.
 */
export interface AnyDriverDefinition {
  readonly type: string;
  readonly schemes: readonly string[];
  readonly readOnly: boolean;
  readonly options: readonly OptionSpec[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly create: (context: DriverContext<any>) => StoreDriver | Promise<StoreDriver>;
}

/** What `defineDriver` is given. */
export interface DriverDeclaration<Schema extends readonly OptionSpec[], Driver extends StoreDriver> {
  type: string;
  schemes: readonly string[];
  /** Only drivers without add and delete may say so: read-only is a matter of types. */
  readOnly?: boolean;
  options: Schema;
  create: (context: DriverContext<OptionsOf<Schema>>) => Driver | Promise<Driver>;
}

/** A driver that can never write: it has no add and no delete at all. */
export type ReadOnlyStoreDriver = StoreDriver & { add?: never; delete?: never };

/**
 * Marks definitions made by defineDriver. A registered symbol, not a
 * WeakSet: a driver package may resolve its own copy of glance-store.
 */
const DEFINED = Symbol.for('glance-store.driver-definition');
const TYPE_NAME = /^[a-z][a-z0-9_-]*$/;
const SCHEME = /^[a-z][a-z0-9+.-]*$/;

/**
 * Declares a driver type once. Declare the option schema `as const` (checked
 * with `satisfies readonly OptionSpec[]`) and `create` receives options
 * typed from it: a renamed or mistyped option fails to compile.
 *
 * ```ts
 * export const memcacheDriver = defineDriver({
 *   type: 'memcache',
 *   schemes: ['memcache'],
 *   options: [{ name: 'memcache_servers', type: 'list', default: ['127.0.0.1:11211'], help: '...' }] as const,
 *   async create({ id, options, logger }) { ... options.memcache_servers is string[] ... },
 * });
 * ```
 * The definition is checked here, so a bad one fails where it is written.
 */
export function defineDriver<const Schema extends readonly OptionSpec[], Driver extends ReadOnlyStoreDriver>(
  definition: DriverDeclaration<Schema, Driver> & { readOnly: true },
): DriverDefinition<Schema, Driver>;
export function defineDriver<const Schema extends readonly OptionSpec[], Driver extends StoreDriver>(
  definition: DriverDeclaration<Schema, Driver> & { readOnly?: false },
): DriverDefinition<Schema, Driver>;
export function defineDriver<const Schema extends readonly OptionSpec[], Driver extends StoreDriver>(definition: DriverDeclaration<Schema, Driver>): DriverDefinition<Schema, Driver> {
  const { type, schemes, options, create } = definition ?? {};
  const where = `defineDriver(${JSON.stringify(type)})`;
  if (typeof type !== 'string' || !TYPE_NAME.test(type)) {
    throw new TypeError(`defineDriver: the type name must be lower-case letters, digits, '_' or '-', starting with a letter; got ${JSON.stringify(type)}`);
  }
  if (!Array.isArray(schemes) || schemes.length === 0 || !schemes.every((s) => typeof s === 'string' && SCHEME.test(s))) {
    throw new TypeError(`${where}: schemes must be a non-empty list of lower-case URI schemes`);
  }
  if (typeof create !== 'function') throw new TypeError(`${where}: create must be a function`);
  if (!Array.isArray(options)) throw new TypeError(`${where}: options must be a list of option specs`);
  const names = new Set<string>();
  for (const o of options as readonly OptionSpec[]) {
    if (typeof o?.name !== 'string' || !/^[a-z_][a-z0-9_]*$/i.test(o.name)) throw new TypeError(`${where}: option name ${JSON.stringify(o?.name)} is not a valid option name`);
    if (names.has(o.name)) throw new TypeError(`${where}: option ${o.name} is declared twice`);
    names.add(o.name);
  }
  return Object.freeze({
    type,
    schemes: Object.freeze([...schemes]),
    readOnly: definition.readOnly === true,
    options,
    create,
    [DEFINED]: true,
  });
}

/** Whether a value is a definition made by `defineDriver` (what `MultiStore.create({ drivers })` takes). */
export function isDriverDefinition(value: unknown): value is AnyDriverDefinition {
  return typeof value === 'object' && value !== null && (value as { [DEFINED]?: unknown })[DEFINED] === true;
}
