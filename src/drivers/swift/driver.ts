/**
 * The swift store. Single-tenant mode keeps images in the store's own account
 * (credentials from an account reference); multi-tenant mode keeps each image
 * in a container of its own in the account of the user adding it, with the
 * request's token. Layout is glance_store's, so either library reads and
 * deletes the other's images: below swift_store_large_object_size one object;
 * from it (or of unknown size) segments `<image>-00001`, `<image>-00002`... of
 * swift_store_large_object_chunk_size in the same container and a Dynamic
 * Large Object manifest `X-Object-Manifest: <container>/<image>-`.
 */
import { accessSync, constants as fsConstants, createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';
import {
  BackendError,
  BackendUnavailableError,
  BadStoreConfigurationError,
  BadStoreUriError,
  DuplicateError,
  ForbiddenError,
  GlanceStoreError,
  NotFoundError,
  SizeMismatchError,
  StorageFullError,
} from '../../errors.js';
import type {
  Capability,
  DriverAddOptions,
  DriverAddResult,
  DriverCallOptions,
  DriverContext,
  DriverGetOptions,
  DriverGetResult,
  ImageAcls,
  RequestContext,
  WritableStoreDriver,
} from '../../driver.js';
import type { Logger } from '../../logger.js';
import { MASK, maskLocation } from '../../location.js';
import { contentLength, discard, headerValue, type Response } from '../../net/response.js';
import { ByteReader } from '../../pipeline/chunks.js';
import { readAhead } from '../../pipeline/read-ahead.js';
import { passwordAuthenticator, selectEndpoint, tokenAuthenticator, type EndpointChoice } from './auth.js';
import { SwiftConnection, transportError } from './connection.js';
import {
  formatSwiftConfigLocation,
  formatSwiftLocation,
  parseSwiftLocation,
  swiftUrl,
  type SwiftLocation,
} from './location.js';
import type { SwiftStoreOptions } from './options.js';
import { loadReferencesFile, type SwiftReference } from './references.js';

/** glance_store's "MB": it multiplies by 1000 * 1024. */
const ONE_MB = 1000 * 1024;
/** Segments whose upload has not finished; only the newest is still reading the image. */
const SEGMENTS_IN_FLIGHT = 2;
const DELETES_IN_FLIGHT = 8;
/** Large reads go as ranges of this size, several in flight: one stream leaves the proxy idle between writes. */
const READ_BYTES = 8 * 1024 * 1024;
const READS_IN_FLIGHT = 4;
/** Times a buffered segment is sent again after Swift failed to take it. */
const BUFFERED_SEGMENT_RETRIES = 2;


export class SwiftStore implements WritableStoreDriver {
  private readonly connections = new Map<string, SwiftConnection>();
  private readonly containersSeen = new Set<string>();
  private readonly endpoint: EndpointChoice;

  private constructor(
    readonly id: string,
    private readonly o: SwiftStoreOptions,
    private readonly references: ReadonlyMap<string, SwiftReference>,
    /** The reference new images are written with (single tenant). */
    private readonly defaultReference: SwiftReference | undefined,
    private readonly dispatcher: Dispatcher,
    private readonly logger: Logger,
  ) {
    this.endpoint = {
      serviceType: o.swift_store_service_type,
      endpointType: o.swift_store_endpoint_type,
      ...(o.swift_store_region ? { region: o.swift_store_region } : {}),
      ...(o.swift_store_endpoint ? { override: o.swift_store_endpoint } : {}),
    };
  }

  static create(ctx: DriverContext<SwiftStoreOptions>): SwiftStore {
    const o = ctx.options;
    const problems: string[] = [];
    let references = new Map<string, SwiftReference>();
    if (o.swift_store_multi_tenant && o.swift_store_config_file) {
      problems.push('swift_store_multi_tenant and swift_store_config_file cannot be used together (a multi-tenant store uses the request token, not account references)');
    }
    if (o.swift_store_config_file) {
      try {
        const loaded = loadReferencesFile(o.swift_store_config_file, o.swift_store_auth_version);
        references = loaded.references;
        for (const why of loaded.skipped) ctx.logger.warn(`[${ctx.id}] swift_store_config_file ${o.swift_store_config_file}: reference ${why}; skipped`);
      } catch (err) {
        problems.push(`swift_store_config_file ${o.swift_store_config_file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    } else if (o.swift_store_user && o.swift_store_key && o.swift_store_auth_address) {
      references.set(o.default_swift_reference, {
        authAddress: o.swift_store_auth_address,
        user: o.swift_store_user,
        key: o.swift_store_key,
        authVersion: o.swift_store_auth_version,
        userDomainId: 'default',
        projectDomainId: 'default',
      });
    }
    const defaultReference = references.get(o.default_swift_reference);
    if (!o.swift_store_multi_tenant) {
      if (!defaultReference) {
        problems.push(
          o.swift_store_config_file
            ? `default_swift_reference ${o.default_swift_reference} is not a complete reference (auth_address, user, key) in ${o.swift_store_config_file}`
            : 'swift_store_auth_address, swift_store_user and swift_store_key are required (or swift_store_config_file with account references)',
        );
      } else {
        if (!['1', '2', '3'].includes(defaultReference.authVersion)) problems.push(`auth_version ${JSON.stringify(defaultReference.authVersion)} of reference ${o.default_swift_reference} must be 1, 2 or 3`);
        if (defaultReference.authVersion !== '1' && !defaultReference.user.includes(':')) {
          problems.push(`the user of reference ${o.default_swift_reference} must be project:user for Keystone (auth_version ${defaultReference.authVersion})`);
        }
        if (!/^https?:\/\//.test(defaultReference.authAddress)) problems.push(`the auth address of reference ${o.default_swift_reference} must be an http:// or https:// URL`);
      }
    }
    let ca: string | undefined;
    if (o.swift_store_cacert) {
      try {
        ca = readFileSync(o.swift_store_cacert, 'utf8');
      } catch (err) {
        problems.push(`swift_store_cacert ${o.swift_store_cacert} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    if (o.swift_buffer_on_upload) {
      const dir = o.swift_upload_buffer_dir;
      if (!dir) problems.push('swift_upload_buffer_dir is required when swift_buffer_on_upload is set');
      else {
        try {
          if (!statSync(dir).isDirectory()) throw new Error('not a directory');
          accessSync(dir, fsConstants.W_OK);
        } catch (err) {
          problems.push(`swift_upload_buffer_dir ${dir} is not a writable directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        }
      }
    }
    if (o.swift_store_endpoint && !/^https?:\/\//.test(o.swift_store_endpoint)) problems.push('swift_store_endpoint must be an http:// or https:// URL');
    if (problems.length) throw new BadStoreConfigurationError(problems.map((p) => `[${ctx.id}] ${p}`));
    const timeout = o.swift_store_request_timeout * 1000;
    const dispatcher = new Agent({
      connect: { timeout, rejectUnauthorized: !o.swift_store_auth_insecure || ca !== undefined, ...(ca ? { ca } : {}) },
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    return new SwiftStore(ctx.id, o, references, defaultReference, dispatcher, ctx.logger);
  }

  capabilities(): ReadonlySet<Capability> {
    return new Set<Capability>(['read', 'read-random', 'write']);
  }

  properties(): Record<string, unknown> {
    const o = this.o;
    return {
      multi_tenant: o.swift_store_multi_tenant,
      container: o.swift_store_container,
      ...(this.defaultReference ? { auth_address: maskLocation(this.defaultReference.authAddress), auth_version: this.defaultReference.authVersion } : {}),
      ...(o.swift_store_config_file ? { reference: o.default_swift_reference } : {}),
      large_object_size_bytes: o.swift_store_large_object_size * ONE_MB,
      large_object_chunk_size_bytes: o.swift_store_large_object_chunk_size * ONE_MB,
    };
  }

  ownsLocation(location: string): boolean {
    try {
      const loc = parseSwiftLocation(location, this.references);
      const c = this.o.swift_store_container;
      if (loc.container !== c && !loc.container.startsWith(`${c}_`)) return false;
      if (this.o.swift_store_multi_tenant) return loc.user === undefined;
      return loc.reference !== undefined || (loc.user !== undefined && stripSlash(swiftUrl(loc)) === stripSlash(this.defaultReference!.authAddress));
    } catch {
      return false;
    }
  }

  // ---- connections -------------------------------------------------------

  /** The connection that reaches a location: its own credentials (single tenant) or the request's token (multi-tenant). */
  private connectionFor(location: SwiftLocation, context: RequestContext | undefined): SwiftConnection {
    let loc = location;
    if (this.o.swift_store_multi_tenant || loc.user === undefined) {
      return this.tokenConnection(swiftUrl(loc), context);
    }
    const ref = loc.reference ? this.references.get(loc.reference)! : this.defaultReference;
    const authUrl = swiftUrl(loc);
    // A location as printed (its key masked) is read with the key of the reference it names.
    if (loc.key === MASK) {
      const match = [...this.references.values()].find((r) => r.user === loc.user && stripSlash(r.authAddress) === stripSlash(authUrl));
      if (!match) throw new BadStoreUriError(`${maskLocation(formatSwiftLocation(loc))} has its key masked, and no account reference of store ${this.id} has that user and auth address`);
      loc = { ...loc, key: match.key };
    }
    const cacheKey = createHash('sha256').update(`${authUrl}\0${loc.user}\0${loc.key}`).digest('hex');
    let conn = this.connections.get(cacheKey);
    if (!conn) {
      const authenticate = passwordAuthenticator(
        {
          authAddress: authUrl,
          user: loc.user ?? '',
          key: loc.key ?? '',
          authVersion: ref?.authVersion ?? this.o.swift_store_auth_version,
          userDomainId: ref?.userDomainId,
          userDomainName: ref?.userDomainName,
          projectDomainId: ref?.projectDomainId,
          projectDomainName: ref?.projectDomainName,
        },
        this.endpoint,
        this.dispatcher,
      );
      conn = new SwiftConnection(this.dispatcher, this.o.swift_store_expire_soon_interval * 1000, authenticate);
      this.connections.set(cacheKey, conn);
    }
    return conn;
  }

  private tokenConnection(storageUrl: string, context: RequestContext | undefined): SwiftConnection {
    return new SwiftConnection(this.dispatcher, 0, undefined, { token: this.userToken(context), storageUrl });
  }

  /** The user's token a multi-tenant call works with. */
  private userToken(context: RequestContext | undefined): string {
    if (!context?.authToken) throw new BadStoreConfigurationError(`[${this.id}] a multi-tenant swift store needs a request context with the user's token (context.authToken)`);
    return context.authToken;
  }

  /** Where a new image goes, and the location URI glance_store would write for it. */
  private async addTarget(imageId: string, context: RequestContext | undefined, signal?: AbortSignal): Promise<{ conn: SwiftConnection; loc: SwiftLocation; uri: string }> {
    const o = this.o;
    if (o.swift_store_multi_tenant) {
      const storageUrl = await this.userStorageUrl(context, signal);
      const loc: SwiftLocation = {
        scheme: storageUrl.startsWith('http://') ? 'swift+http' : 'swift+https',
        authOrStoreUrl: storageUrl,
        container: `${o.swift_store_container}_${imageId}`,
        obj: imageId,
      };
      return { conn: this.tokenConnection(storageUrl, context), loc, uri: formatSwiftLocation(loc) };
    }
    const ref = this.defaultReference!;
    const loc: SwiftLocation = {
      scheme: ref.authAddress.startsWith('http://') ? 'swift+http' : 'swift+https',
      user: ref.user,
      key: ref.key,
      authOrStoreUrl: ref.authAddress,
      container: containerName(o.swift_store_container, imageId, o.swift_store_multiple_containers_seed),
      obj: imageId,
    };
    // With a references file, locations name the reference instead of holding credentials.
    const uri = o.swift_store_config_file ? formatSwiftConfigLocation(o.default_swift_reference, loc.container, loc.obj) : formatSwiftLocation(loc);
    return { conn: this.connectionFor(loc, context), loc, uri };
  }

  /**
   * The user's Swift account URL for a multi-tenant add: swift_store_endpoint,
   * else the request's service catalog, else the catalog Keystone v3 returns
   * for the user's token at swift_store_auth_address.
   */
  private async userStorageUrl(context: RequestContext | undefined, signal?: AbortSignal): Promise<string> {
    const token = this.userToken(context);
    if (this.o.swift_store_endpoint) return this.o.swift_store_endpoint;
    if (context?.serviceCatalog) return selectEndpoint(context.serviceCatalog, this.endpoint);
    if (!this.o.swift_store_auth_address) {
      throw new BadStoreConfigurationError(`[${this.id}] a multi-tenant swift store needs the request's service catalog (context.serviceCatalog), swift_store_endpoint or swift_store_auth_address`);
    }
    signal?.throwIfAborted();
    const auth = await tokenAuthenticator(this.o.swift_store_auth_address, token, context?.projectId, this.endpoint, this.dispatcher)();
    return auth.storageUrl;
  }

  // ---- add ---------------------------------------------------------------

  async add(imageId: string, data: AsyncIterable<Uint8Array>, options: DriverAddOptions): Promise<DriverAddResult> {
    const { conn, loc, uri } = await this.addTarget(imageId, options.context, options.signal);
    const created = await this.ensureContainer(conn, loc, options.signal);
    try {
      return await this.addInto(conn, loc, uri, imageId, data, options);
    } catch (err) {
      // A multi-tenant image's own container goes with it.
      if (created && this.o.swift_store_multi_tenant) await this.deleteContainerQuietly(conn, loc.container);
      throw err;
    }
  }

  private async addInto(conn: SwiftConnection, loc: SwiftLocation, uri: string, imageId: string, data: AsyncIterable<Uint8Array>, options: DriverAddOptions): Promise<DriverAddResult> {
    const signal = options.signal;
    const where = `image ${imageId} in store ${this.id}`;
    const { exists, stale } = await this.inspectName(conn, loc, signal);
    if (exists) throw new DuplicateError(`Image ${imageId} already exists in store ${this.id}`);
    // Below here a size of 0 means unknown: a known size below the threshold (0 too) goes whole.
    const size = options.size ?? 0;
    const whole = options.size !== undefined && size < this.o.swift_store_large_object_size * ONE_MB;
    // Listings may lag: before segments are removed or written, ask for the image itself.
    if ((stale.length || !whole) && (await this.exists(conn, loc.container, loc.obj, signal))) {
      throw new DuplicateError(`Image ${imageId} already exists in store ${this.id}`);
    }
    if (stale.length) {
      this.logger.warn(`[${this.id}] removing ${stale.length} leftover segment(s) of an unfinished earlier add of ${imageId}`);
      await this.deleteNames(conn, loc.container, stale, signal);
    }
    const reader = new ByteReader(data[Symbol.asyncIterator]());
    try {
      if (whole) await this.putWhole(conn, loc, reader, size, signal);
      else await this.putSegmented(conn, loc, reader, size, signal);
    } catch (err) {
      reader.cancel();
      if (err instanceof NotFoundError) this.forgetContainer(loc);
      throw this.statusError(err, where);
    }
    return { location: uri };
  }

  /** One PUT, never over an existing object (If-None-Match). */
  private async putWhole(conn: SwiftConnection, loc: SwiftLocation, reader: ByteReader, size: number, signal: AbortSignal): Promise<void> {
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
    try {
      const res = await conn.request({
        method: 'PUT',
        container: loc.container,
        obj: loc.obj,
        headers: { 'content-length': String(size), 'if-none-match': '*' },
        body,
        signal: guard.signal,
      });
      await this.expectOk(res, `PUT of ${loc.container}/${loc.obj}`);
    } catch (err) {
      // The whole body went out but the answer was lost: the object may exist, and it is ours.
      if (sent === size && !(err instanceof DuplicateError)) await this.deleteQuietly(conn, loc.container, loc.obj);
      throw err;
    } finally {
      guard.release();
    }
  }

  private async putSegmented(conn: SwiftConnection, loc: SwiftLocation, reader: ByteReader, size: number, signal: AbortSignal): Promise<void> {
    const segmentSize = this.o.swift_store_large_object_chunk_size * ONE_MB;
    const attempted: string[] = [];
    /** Segments Swift refused because an object of that name exists: not ours to delete. */
    const refused = new Set<string>();
    let manifestSent = false;
    const inFlight = new Set<Promise<void>>();
    const guards: UploadGuard[] = [];
    const stopAll = () => guards.forEach((g) => g.stop());
    let failure: unknown;
    let written = 0;
    try {
      for (let n = 1; ; n++) {
        let limit = segmentSize;
        if (size > 0) {
          if (written >= size) break;
          limit = Math.min(limit, size - written);
        }
        // No empty trailing segment for an image of unknown size (as glance_store).
        if (!(await reader.more())) break;
        while (inFlight.size >= SEGMENTS_IN_FLIGHT) await Promise.race(inFlight);
        if (failure) throw failure;
        const name = `${loc.obj}-${String(n).padStart(5, '0')}`;
        attempted.push(name);
        const guard = new UploadGuard(signal);
        guards.push(guard);
        const segment = this.o.swift_buffer_on_upload
          ? this.putBufferedSegment(conn, loc.container, name, reader, limit, guard)
          : this.putStreamedSegment(conn, loc.container, name, reader, limit, size > 0, guard);
        const done: Promise<void> = segment.done.then(
          () => void inFlight.delete(done),
          (err: unknown) => {
            inFlight.delete(done);
            if (err instanceof DuplicateError) refused.add(name);
            failure ??= err;
            stopAll();
          },
        );
        inFlight.add(done);
        // The next segment may start once this one has taken its bytes (or failed).
        written += await Promise.race([segment.read, segment.done.then(() => segment.read)]);
        if (failure) throw failure;
      }
      await Promise.all(inFlight);
      if (failure) throw failure;
      if (size > 0 && (await reader.more())) throw new SizeMismatchError(`Image data is longer than the declared size of ${size} bytes`);
      signal.throwIfAborted();
      manifestSent = true;
      // Not cancelled: its body is empty, so once sent it is Swift's to commit, and an abort now
      // is handled after it (the add removes the finished image).
      const res = await conn.request({
        method: 'PUT',
        container: loc.container,
        obj: loc.obj,
        headers: { 'x-object-manifest': `${loc.container}/${loc.obj}-`, 'content-length': '0', 'if-none-match': '*' },
        body: '',
      });
      await this.expectOk(res, `PUT of the manifest ${loc.container}/${loc.obj}`);
    } catch (err) {
      // Uploads still sending are cut (Swift discards them); those already sent are awaited,
      // so that the deletes below do not race Swift committing them.
      stopAll();
      await Promise.allSettled(inFlight);
      // A manifest whose answer was lost may exist, and is ours; one refused (412) is not.
      if (manifestSent && !(err instanceof DuplicateError)) await this.deleteQuietly(conn, loc.container, loc.obj);
      await this.deleteSegments(conn, loc.container, attempted.filter((n) => !refused.has(n)));
      // The image's own failure (size cap, size mismatch, source error) explains more than the
      // request it broke, whichever of the two was noticed first.
      throw err instanceof GlanceStoreError && !(err instanceof BackendUnavailableError) ? err : (failure ?? err);
    } finally {
      guards.forEach((g) => g.release());
    }
  }

  /** A segment streamed straight from the image: nothing buffered, so it cannot be sent twice. */
  private putStreamedSegment(conn: SwiftConnection, container: string, name: string, reader: ByteReader, limit: number, knownLength: boolean, guard: UploadGuard) {
    let resolveRead!: (n: number) => void;
    let rejectRead!: (e: unknown) => void;
    const read = new Promise<number>((res, rej) => ((resolveRead = res), (rejectRead = rej)));
    read.catch(() => undefined);
    const body = Readable.from(
      (async function* () {
        let n = 0;
        try {
          for await (const chunk of reader.take(limit)) {
            n += chunk.byteLength;
            yield chunk;
          }
          guard.markSent();
          resolveRead(n);
        } catch (err) {
          rejectRead(err);
          throw err;
        }
      })(),
    );
    const done = (async () => {
      const res = await conn.request({
        method: 'PUT',
        container,
        obj: name,
        // Without a known length the segment goes chunked, as glance_store sends it. Never over
        // an existing object: a segment of that name belongs to another add of this id.
        headers: knownLength ? { 'content-length': String(limit), 'if-none-match': '*' } : { 'if-none-match': '*' },
        body,
        signal: guard.signal,
      });
      await this.expectOk(res, `PUT of segment ${container}/${name}`);
    })();
    done.catch((err: unknown) => rejectRead(err));
    return { read, done };
  }

  /** A segment written to swift_upload_buffer_dir first, so a failed upload is sent again from the file. */
  private putBufferedSegment(conn: SwiftConnection, container: string, name: string, reader: ByteReader, limit: number, guard: UploadGuard) {
    const signal = guard.signal;
    const dir = mkdtempSync(path.join(this.o.swift_upload_buffer_dir!, 'segment-'));
    const file = path.join(dir, 'data');
    const read = (async () => {
      let n = 0;
      const counted = (async function* () {
        for await (const chunk of reader.take(limit)) {
          n += chunk.byteLength;
          yield chunk;
        }
      })();
      await pipeline(Readable.from(counted), createWriteStream(file));
      return n;
    })();
    const done = (async () => {
      try {
        const length = await read;
        for (let attempt = 0; ; attempt++) {
          try {
            const res = await conn.request({
              method: 'PUT',
              container,
              obj: name,
              headers: { 'content-length': String(length), 'if-none-match': '*' },
              body: () => createReadStream(file, { highWaterMark: 1024 * 1024 }).once('end', () => guard.markSent()),
              signal,
            });
            await this.expectOk(res, `PUT of segment ${container}/${name}`);
            return;
          } catch (err) {
            // After an attempt whose answer was lost, an existing object of this name is that attempt.
            if (attempt > 0 && err instanceof DuplicateError) return;
            if (!(err instanceof BackendUnavailableError) || attempt >= BUFFERED_SEGMENT_RETRIES || signal.aborted) throw err;
            this.logger.warn(`[${this.id}] segment ${container}/${name} failed (${err.message}); sending it again from its buffer`);
          }
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    })();
    return { read, done };
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
    const names = await this.list(conn, loc.container, dash > 0 ? id.slice(0, dash) : id, signal);
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

  /** Deletes the segments a failed add wrote (or may have written: answers can be lost). */
  private async deleteSegments(conn: SwiftConnection, container: string, names: readonly string[]): Promise<void> {
    try {
      await this.deleteNames(conn, container, names);
    } catch (err) {
      this.logger.error(`[${this.id}] segments of a failed add could not all be removed: ${(err as Error).message}`);
    }
  }

  /**
   * Creates the container when missing and allowed, and says whether it did.
   * A container seen once is not asked about again (single tenant: every add
   * goes to the same few).
   */
  private async ensureContainer(conn: SwiftConnection, loc: SwiftLocation, signal?: AbortSignal): Promise<boolean> {
    const container = loc.container;
    const key = containerKey(loc);
    if (this.containersSeen.has(key)) return false;
    const head = await conn.request({ method: 'HEAD', container, signal });
    discard(head);
    if (head.statusCode >= 200 && head.statusCode < 300) {
      if (!this.o.swift_store_multi_tenant) this.containersSeen.add(key);
      return false;
    }
    if (head.statusCode !== 404) await this.expectOk(head, `HEAD of container ${container}`);
    if (!this.o.swift_store_create_container_on_put) {
      throw new BackendError(`The container ${container} does not exist in Swift; create it or set swift_store_create_container_on_put = true in store ${this.id}`);
    }
    const res = await conn.request({ method: 'PUT', container, headers: { 'content-length': '0' }, signal });
    await this.expectOk(res, `creating container ${container}`);
    return true;
  }

  /** Removes an emptied container; a listing that still counts just-deleted objects (409) gets a few more tries. */
  private async deleteContainerQuietly(conn: SwiftConnection, container: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const res = await conn.request({ method: 'DELETE', container });
        discard(res);
        if (res.statusCode !== 409) return;
      } catch {
        return; // best effort: the add is failing anyway
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * (attempt + 1)));
    }
  }

  /** Forgets a container that turned out to be gone, so the next add looks again. */
  private forgetContainer(loc: SwiftLocation): void {
    this.containersSeen.delete(containerKey(loc));
  }

  // ---- get, size, delete -------------------------------------------------

  async get(location: string, options: DriverGetOptions = {}): Promise<DriverGetResult> {
    const loc = parseSwiftLocation(location, this.references);
    const conn = this.connectionFor(loc, options.context);
    const shown = maskLocation(location);
    if (options.length === 0) {
      await this.getSize(location, options);
      return { stream: Readable.from([]), size: 0 };
    }
    const start = options.offset ?? 0;
    const wantedEnd = options.length !== undefined ? start + options.length - 1 : Infinity;
    // The first request asks for the first read's worth; its Content-Range tells the object's size.
    const firstEnd = Math.min(wantedEnd, start + READ_BYTES - 1);
    const first = await this.getObject(conn, loc, start, firstEnd, options.signal);
    if (first.statusCode === 416) {
      discard(first);
      // Nothing at or past `start` (an empty image, or a range past the end), as Swift says it.
      const size = /^bytes \*\/(\d+)$/.exec(headerValue(first, 'content-range') ?? '')?.[1];
      if (size !== undefined && Number(size) > start) throw new BackendError(`${shown}: Swift refused bytes ${start}-${firstEnd} of a ${size}-byte image`);
      return { stream: Readable.from([]), size: 0 };
    }
    const total = totalSize(first);
    if (first.statusCode !== 206 || total === undefined) {
      discard(first);
      throw new BackendError(`${shown}: Swift answered a range request with HTTP ${first.statusCode} and no Content-Range`);
    }
    const retries = { used: 0 };
    const manifest = headerValue(first, 'x-object-manifest');
    if (manifest) {
      // Swift sizes a DLO from the first page of its listing (10,000 segments): past that,
      // ranges and Content-Range fall short. Such an image is read whole, never short.
      const listed = await this.segmentBytes(conn, manifest, options.signal);
      if (listed.pages > 1) {
        discard(first);
        if (options.offset !== undefined || options.length !== undefined) {
          throw new BackendError(`${shown} has ${listed.count} segments: Swift cannot serve a range of a segmented image past its first 10,000 segments`);
        }
        const whole = await conn.request({ method: 'GET', container: loc.container, obj: loc.obj, signal: options.signal });
        await this.expectOk(whole, shown, true);
        return { stream: Readable.from(this.resumingBody(conn, loc, whole, 0, listed.bytes, listed.bytes - 1, shown, retries, options.signal)), size: listed.bytes };
      }
    }
    const end = Math.min(wantedEnd, total - 1);
    const size = Math.max(0, end - start + 1);
    if (end <= firstEnd) {
      return { stream: Readable.from(this.resumingBody(conn, loc, first, start, contentLength(first) ?? 0, firstEnd, shown, retries, options.signal)), size };
    }
    // Larger images: several ranges in flight (proxies serve them side by side), in order.
    let firstRead: Response | undefined = first;
    const stream = readAhead({
      start,
      length: size,
      chunk: READ_BYTES,
      inFlight: READS_IN_FLIGHT,
      readAt: (at, length) => {
        const res = at === start ? firstRead : undefined;
        firstRead = undefined;
        return this.readRange(conn, loc, at, length, res, shown, retries, options.signal);
      },
      close: async () => {
        if (firstRead) discard(firstRead);
      },
    });
    return { stream, size };
  }

  /**
   * Bytes [at, at + length) into one Buffer. When the connection breaks, asks
   * again from the byte reached; the retries of one get share
   * swift_store_retry_get_count, as in glance_store.
   */
  private async readRange(
    conn: SwiftConnection,
    loc: SwiftLocation,
    at: number,
    length: number,
    opened: Response | undefined,
    shown: string,
    retries: { used: number },
    signal: AbortSignal | undefined,
  ): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    let res = opened;
    for (;;) {
      let broken: unknown;
      try {
        res ??= await this.getObject(conn, loc, at + got, at + length - 1, signal);
        if (res.statusCode !== 206) throw new BackendError(`${shown}: Swift answered HTTP ${res.statusCode} to a range request`);
        for await (const chunk of res.body) {
          const c = chunk as Buffer;
          if (got + c.length > length) throw new BackendError(`${shown}: Swift sent more than the ${length} bytes asked for at ${at}`);
          c.copy(buf, got);
          got += c.length;
        }
      } catch (err) {
        if (signal?.aborted || (err instanceof GlanceStoreError && !(err instanceof BackendUnavailableError))) throw err;
        broken = err;
      } finally {
        if (res && !res.body.destroyed) res.body.destroy();
        res = undefined;
      }
      if (got === length) return buf;
      this.spendRetry(retries, shown, at + got, broken);
    }
  }

  /**
   * The object's bytes; when the connection breaks, asks again from the byte
   * reached, up to swift_store_retry_get_count times. It never ends short:
   * after the last retry the stream errors.
   */
  private async *resumingBody(
    conn: SwiftConnection,
    loc: SwiftLocation,
    first: Response,
    start: number,
    size: number,
    end: number,
    shown: string,
    retries: { used: number },
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Buffer> {
    let res = first;
    let delivered = 0;
    for (;;) {
      let broken: unknown;
      try {
        for await (const chunk of res.body) {
          delivered += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      } catch (err) {
        if (signal?.aborted) throw transportError(err, `Reading ${shown}`);
        broken = err;
      } finally {
        if (!res.body.destroyed) res.body.destroy();
      }
      if (delivered === size) return;
      this.spendRetry(retries, shown, start + delivered, broken);
      res = await this.getObject(conn, loc, start + delivered, end, signal);
      if (res.statusCode !== 206) {
        discard(res);
        throw new BackendError(`Resuming ${shown} at byte ${delivered}: Swift answered HTTP ${res.statusCode} instead of a range`);
      }
    }
  }

  /**
   * Takes one retry of a read cut off at byte `at` from the budget its get
   * shares (swift_store_retry_get_count), or fails loudly when none is left.
   */
  private spendRetry(retries: { used: number }, shown: string, at: number, broken: unknown): void {
    const why = broken ? ((broken as Error).message ?? String(broken)) : 'the connection closed early';
    if (retries.used >= this.o.swift_store_retry_get_count) {
      throw new BackendUnavailableError(`Reading ${shown} stopped at byte ${at} (${why}) after ${retries.used} retr${retries.used === 1 ? 'y' : 'ies'}`, { cause: broken });
    }
    retries.used++;
    this.logger.info(`[${this.id}] resuming ${shown} at byte ${at} (retry ${retries.used}/${this.o.swift_store_retry_get_count}): ${why}`);
  }

  private async getObject(conn: SwiftConnection, loc: SwiftLocation, start: number, end: number, signal?: AbortSignal): Promise<Response> {
    const headers = { range: `bytes=${start}-${end}` };
    const res = await conn.request({ method: 'GET', container: loc.container, obj: loc.obj, headers, signal });
    if (res.statusCode === 416 || (res.statusCode >= 200 && res.statusCode < 300)) return res;
    await this.expectOk(res, `image ${loc.obj}`);
    return res;
  }

  async getSize(location: string, options: DriverCallOptions = {}): Promise<number> {
    const loc = parseSwiftLocation(location, this.references);
    const res = await this.connectionFor(loc, options.context).request({ method: 'HEAD', container: loc.container, obj: loc.obj, signal: options.signal });
    discard(res);
    await this.expectOk(res, maskLocation(location));
    return contentLength(res) ?? 0;
  }

  async delete(location: string, options: DriverCallOptions = {}): Promise<void> {
    const loc = parseSwiftLocation(location, this.references);
    const conn = this.connectionFor(loc, options.context);
    const head = await conn.request({ method: 'HEAD', container: loc.container, obj: loc.obj, signal: options.signal });
    discard(head);
    await this.expectOk(head, maskLocation(location));
    await this.removeObjectAndSegments(conn, loc.container, loc.obj, head, options.signal);
    // The per-image container goes too (a container still holding something else is kept).
    if (this.o.swift_store_multi_tenant) await this.deleteContainerQuietly(conn, loc.container);
  }

  /** Segments first, manifest last (as glance_store): a delete that fails half-way can be run again. */
  private async removeObjectAndSegments(conn: SwiftConnection, container: string, obj: string, head: Response, signal?: AbortSignal): Promise<void> {
    if ((headerValue(head, 'x-static-large-object') ?? '').toLowerCase() === 'true') {
      const res = await conn.request({ method: 'DELETE', container, obj, query: { 'multipart-manifest': 'delete' }, signal });
      discard(res);
      return this.expectOk(res, `DELETE of ${container}/${obj}`);
    }
    const manifest = headerValue(head, 'x-object-manifest');
    if (manifest) {
      const segments = splitManifest(manifest);
      await this.deleteNames(conn, segments.container, await this.list(conn, segments.container, segments.prefix, signal), signal);
    }
    const res = await conn.request({ method: 'DELETE', container, obj, signal });
    discard(res);
    if (res.statusCode !== 404) await this.expectOk(res, `DELETE of ${container}/${obj}`);
  }

  /**
   * glance_store's set_acls for multi-tenant images: read access for the
   * given projects (or everyone), write access for the given projects and
   * swift_store_admin_tenants. Single-tenant images live in the store's own
   * account, where glance_store does not set ACLs either.
   */
  async setAcls(location: string, acls: ImageAcls, options: DriverCallOptions = {}): Promise<void> {
    if (!this.o.swift_store_multi_tenant) return;
    const loc = parseSwiftLocation(location, this.references);
    const read = acls.public ? '*:*' : (acls.readTenants ?? []).map((t) => `${t}:*`).join(',');
    const write = [...(acls.writeTenants ?? []), ...this.o.swift_store_admin_tenants].map((t) => `${t}:*`).join(',');
    const res = await this.connectionFor(loc, options.context).request({
      method: 'POST',
      container: loc.container,
      headers: { 'x-container-read': read, 'x-container-write': write },
      signal: options.signal,
    });
    discard(res);
    await this.expectOk(res, maskLocation(location));
  }

  async close(): Promise<void> {
    this.connections.clear();
    await this.dispatcher.close().catch(() => undefined);
  }

  // ---- helpers -----------------------------------------------------------

  private async exists(conn: SwiftConnection, container: string, obj: string, signal?: AbortSignal): Promise<boolean> {
    const res = await conn.request({ method: 'HEAD', container, obj, signal });
    discard(res);
    if (res.statusCode === 404) return false;
    await this.expectOk(res, `HEAD of ${container}/${obj}`);
    return true;
  }

  /** How many segments a DLO manifest (`container/prefix`) joins, their bytes, and the listing pages they took. */
  private async segmentBytes(conn: SwiftConnection, manifest: string, signal?: AbortSignal): Promise<{ count: number; bytes: number; pages: number }> {
    const { container, prefix } = splitManifest(manifest);
    let count = 0;
    let bytes = 0;
    let pages = 0;
    for await (const page of this.listingPages(conn, container, prefix, signal)) {
      pages++;
      count += page.length;
      for (const o of page) bytes += o.bytes;
    }
    return { count, bytes, pages };
  }

  /** Every object name with a prefix. */
  private async list(conn: SwiftConnection, container: string, prefix: string, signal?: AbortSignal): Promise<string[]> {
    const names: string[] = [];
    for await (const page of this.listingPages(conn, container, prefix, signal)) for (const o of page) names.push(o.name);
    return names;
  }

  /** A container's listing of a prefix, page by page; nothing when the container does not exist. */
  private async *listingPages(conn: SwiftConnection, container: string, prefix: string, signal?: AbortSignal): AsyncGenerator<{ name: string; bytes: number }[]> {
    for (let marker = ''; ; ) {
      const res = await conn.request({ method: 'GET', container, query: { format: 'json', prefix, ...(marker ? { marker } : {}) }, signal });
      if (res.statusCode === 404 || res.statusCode === 204) {
        discard(res);
        return;
      }
      await this.expectOk(res, `listing of ${container}`, true);
      const page = (await res.body.json()) as { name: string; bytes: number }[];
      if (page.length === 0) return;
      yield page;
      marker = page.at(-1)!.name;
    }
  }

  /** Deletes objects a few at a time; a missing one is fine, any other failure is reported after all were tried. */
  private async deleteNames(conn: SwiftConnection, container: string, names: readonly string[], signal?: AbortSignal): Promise<void> {
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < names.length) {
        const name = names[next++]!;
        try {
          const res = await conn.request({ method: 'DELETE', container, obj: name, signal });
          discard(res);
          if (res.statusCode !== 404) await this.expectOk(res, `DELETE of ${container}/${name}`);
        } catch (err) {
          failures.push(`${name}: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETES_IN_FLIGHT, names.length) }, worker));
    if (failures.length) throw new BackendUnavailableError(`${failures.length} of ${names.length} objects in ${container} could not be deleted: ${failures.slice(0, 3).join('; ')}`);
  }

  private async deleteQuietly(conn: SwiftConnection, container: string, obj: string): Promise<void> {
    try {
      const res = await conn.request({ method: 'DELETE', container, obj });
      discard(res);
    } catch {
      // best effort: the add is failing anyway
    }
  }

  /**
   * Turns a non-2xx answer into the error glance_store raises for it. A 2xx
   * body is drained unless the caller still reads it (`keepBody`).
   */
  private async expectOk(res: Response, what: string, keepBody = false): Promise<void> {
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      if (!keepBody && !res.body.destroyed) await res.body.dump().catch(() => undefined);
      return;
    }
    let detail = '';
    try {
      detail = (await res.body.text()).slice(0, 200).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
    } catch {
      // the body is informative only
    }
    const text = `${what}: Swift answered HTTP ${status}${detail ? ` (${detail})` : ''}`;
    if (status === 404) throw new NotFoundError(`${what} was not found`);
    if (status === 403) throw new ForbiddenError(`${what}: Swift refused access (HTTP 403)`);
    if (status === 412 || status === 409) throw new DuplicateError(`${what}: an object already exists there`);
    if (status === 413) throw new StorageFullError(text);
    if (status === 507) throw new StorageFullError(text);
    if (status >= 500) throw new BackendUnavailableError(text);
    throw new BackendError(text);
  }

  private statusError(err: unknown, where: string): GlanceStoreError {
    if (err instanceof GlanceStoreError) return err;
    return transportError(err, where);
  }
}

/** A DLO manifest header `container/prefix`, decoded. */
function splitManifest(manifest: string): { container: string; prefix: string } {
  const slash = manifest.indexOf('/');
  return { container: decodeURIComponent(manifest.slice(0, slash)), prefix: decodeURIComponent(manifest.slice(slash + 1)) };
}

/** Which account and container a container check was for. */
function containerKey(loc: SwiftLocation): string {
  return `${loc.authOrStoreUrl}\0${loc.user ?? ''}\0${loc.container}`;
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * The cancellation of one upload request. Once its body has gone out, Swift
 * may commit the object whatever becomes of the request, so cancelling it
 * then would only lose the answer (and race the cleanup's DELETE against the
 * commit): such a request is left to finish, within the request timeout.
 */
class UploadGuard {
  private readonly controller = new AbortController();
  private sent = false;
  private readonly onOuterAbort = () => this.stop();
  readonly signal = this.controller.signal;

  constructor(private readonly outer: AbortSignal) {
    if (outer.aborted) this.controller.abort();
    else outer.addEventListener('abort', this.onOuterAbort, { once: true });
  }

  markSent(): void {
    this.sent = true;
  }

  /** Cancels the request if its body is still being sent. */
  stop(): void {
    if (!this.sent) this.controller.abort();
  }

  release(): void {
    this.outer.removeEventListener('abort', this.onOuterAbort);
  }
}

/** The whole object's size from a 206 answer's `Content-Range: bytes a-b/total`. */
function totalSize(res: Response): number | undefined {
  const m = /\/(\d+)\s*$/.exec(headerValue(res, 'content-range') ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * glance_store's container naming: with swift_store_multiple_containers_seed
 * N > 0, `<container>_<first N characters of the lower-cased id>`, where
 * dashes in those characters do not count toward N.
 */
export function containerName(base: string, imageId: string, seed: number): string {
  if (seed <= 0) return base;
  const id = imageId.toLowerCase();
  const dashes = id.slice(0, seed).split('-').length - 1;
  return `${base}_${id.slice(0, seed + dashes)}`;
}
