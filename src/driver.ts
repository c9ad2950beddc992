/**
 * The driver contract. A read-only backend implements `StoreDriver`; a backend
 * that can store images implements `WritableStoreDriver`, the only type with
 * `add` and `delete`. Because the read-only type simply has no write methods,
 * writing to an http store is a compile-time error, not only a runtime one.
 */
import type { Readable } from 'node:stream';
import type { OptionSpec, OptionValues } from './config/options.js';
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
  /** The driver type name, as written in enabled_backends (`file`, `http`, ...). */
  readonly type: string;
  /** URI schemes whose locations this store reads. */
  readonly schemes: readonly string[];
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
  /** Properties shown by `infoDetail()`: never secrets. */
  properties?(): Record<string, unknown>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
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

/** What a driver factory is given to build one store. */
export interface DriverContext {
  /** The store id (the section name). */
  id: string;
  /** Option values read against the driver's schema, defaults applied. */
  options: OptionValues;
  logger: Logger;
}

export type DriverFactory = (context: DriverContext) => StoreDriver | Promise<StoreDriver>;

/** Facts about a driver type known before any store of it is built. */
export interface DriverTraits {
  /** URI schemes its locations use. */
  schemes?: readonly string[];
  /** The type can never write (http): its stores are listed `read-only`. */
  readOnly?: boolean;
}

export interface DriverDefinition extends DriverTraits {
  type: string;
  factory: DriverFactory;
  options: readonly OptionSpec[];
}

const registry = new Map<string, DriverDefinition>();

/**
 * Makes a driver type usable in `enabled_backends`. Third-party drivers call
 * this before `MultiStore.create`; registering a built-in type name again
 * replaces it.
 */
export function registerDriver(type: string, factory: DriverFactory, options: readonly OptionSpec[], traits: DriverTraits = {}): void {
  if (!/^[a-z][a-z0-9_-]*$/i.test(type)) throw new TypeError(`registerDriver: invalid driver type name ${JSON.stringify(type)}`);
  if (typeof factory !== 'function') throw new TypeError(`registerDriver(${type}): factory must be a function`);
  registry.set(type, { ...traits, type, factory, options });
}

export function driverDefinition(type: string): DriverDefinition | undefined {
  return registry.get(type);
}

export function registeredTypes(): string[] {
  return [...registry.keys()];
}
