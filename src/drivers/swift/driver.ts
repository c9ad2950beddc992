/**
 * The swift store: the driver contract over the modules that do the work.
 * Single-tenant mode keeps images in the store's own account (credentials
 * from an account reference); multi-tenant mode keeps each image in a
 * container of its own in the account of the user adding it, with the
 * request's token (./tenancy.ts). Layout is glance_store's (./upload.ts,
 * ./segments.ts), so either library reads (./download.ts) and deletes the
 * other's images.
 */
import { Readable } from 'node:stream';
import { NotFoundError } from '../../errors.js';
import type { Capability, DriverAddOptions, DriverAddResult, DriverCallOptions, DriverContext, DriverGetOptions, DriverGetResult, DriverListOptions, ImageAcls, ListedImage, StoreLeftover, WritableStoreDriver } from '../../driver.js';
import { listSwiftImages, swiftLeftovers, type SwiftListing } from './list.js';
import { throwStoreProblems } from '../store-problems.js';
import { maskLocation } from '../../location.js';
import type { Logger } from '../../logger.js';
import type { Reclaimer } from '../../pipeline/reclaim.js';
import { contentLength, discard } from '../../net/response.js';
import { readTls } from '../../net/tls.js';
import type { SwiftEndpoint } from './auth.js';
import { SWIFT_CLIENT } from './connection.js';
import { ServiceClient } from '../../net/client.js';
import { SwiftDownloader } from './download.js';
import { checkSwiftStatus, deleteContainerQuietly, removeObjectAndSegments } from './objects.js';
import { ONE_MB, type SwiftStoreOptions } from './options.js';
import { keystoneV2References, storeReferences, type SwiftReference } from './references.js';
import { SwiftTenancy } from './tenancy.js';
import { SwiftUploader } from './upload.js';

export class SwiftStore implements WritableStoreDriver {
  private readonly uploader: SwiftUploader;
  private readonly downloader: SwiftDownloader;

  private constructor(
    readonly id: string,
    private readonly o: SwiftStoreOptions,
    private readonly tenancy: SwiftTenancy,
    /** The reference new images are written with (single tenant). */
    private readonly defaultReference: SwiftReference | undefined,
    private readonly client: ServiceClient,
    logger: Logger,
    reclaimer: Reclaimer,
  ) {
    this.uploader = new SwiftUploader(id, o, logger, reclaimer);
    this.downloader = new SwiftDownloader(id, o.swift_store_retry_get_count, logger);
  }

  static create(ctx: DriverContext<SwiftStoreOptions>): SwiftStore {
    const o = ctx.options;
    const { references, defaultReference, problems } = storeReferences(o, (message) => ctx.logger.warn(`[${ctx.id}] ${message}`));
    const { tls, problems: tlsProblems } = readTls(
      { caFile: o.swift_store_cacert, insecure: o.swift_store_auth_insecure },
      { caFile: 'swift_store_cacert', insecure: 'swift_store_auth_insecure' },
    );
    // The options' rules and paths (SWIFT_OPTIONS: the buffer dir, the CA bundle, the references file) were
    // checked with the whole config; a file that cannot be read now changed since.
    problems.push(...tlsProblems);
    throwStoreProblems(ctx.id, problems);
    const v2 = keystoneV2References(references);
    if (v2.length) ctx.logger.warn(`[${ctx.id}] ${v2.join(', ')} ${v2.length === 1 ? 'authenticates' : 'authenticate'} with Keystone v2.0, which glance_store 5.0 no longer supports for swift: use auth_version 3 (Keystone v3; swift_store_auth_version = 3 for the swift_store_* account)`);
    const timeout = o.swift_store_request_timeout * 1000;
    const client = ServiceClient.create({
      ...SWIFT_CLIENT,
      tls,
      timeouts: { connectMs: timeout, headersMs: timeout, bodyMs: timeout },
      onRetry: (what, why, n) => ctx.logger.info(`[${ctx.id}] ${what}: making it again (retry ${n}) after ${why}`),
    });
    const endpoint: SwiftEndpoint = {
      serviceType: o.swift_store_service_type,
      endpointType: o.swift_store_endpoint_type,
      ...(o.swift_store_region ? { region: o.swift_store_region } : {}),
      ...(o.swift_store_endpoint ? { override: o.swift_store_endpoint } : {}),
    };
    const tenancy = new SwiftTenancy(ctx.id, o, references, defaultReference, endpoint, client);
    return new SwiftStore(ctx.id, o, tenancy, defaultReference, client, ctx.logger, ctx.reclaimer);
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
    return this.tenancy.owns(location);
  }

  async add(imageId: string, data: AsyncIterable<Uint8Array>, options: DriverAddOptions): Promise<DriverAddResult> {
    const { conn, loc, uri } = await this.tenancy.addTarget(imageId, options.context, options.signal);
    const created = await this.tenancy.ensureContainer(conn, loc, options.signal);
    try {
      await this.uploader.write(conn, loc, uri, imageId, data, options);
      return { location: uri };
    } catch (err) {
      if (err instanceof NotFoundError) this.tenancy.forgetContainer(loc);
      // A multi-tenant image's own container goes with it, if already emptied (after an abort the
      // reclaimer may still be removing segments); within a bound, whatever Swift does.
      if (created && this.o.swift_store_multi_tenant) await deleteContainerQuietly(conn, loc.container);
      throw err;
    }
  }

  async get(location: string, options: DriverGetOptions = {}): Promise<DriverGetResult> {
    const loc = this.tenancy.parse(location);
    const conn = this.tenancy.connectionFor(loc, options.context);
    if (options.length === 0) {
      await this.getSize(location, options);
      return { stream: Readable.from([]), size: 0 };
    }
    return this.downloader.get(conn, loc, maskLocation(location), options);
  }

  async getSize(location: string, options: DriverCallOptions = {}): Promise<number> {
    const loc = this.tenancy.parse(location);
    const res = await this.tenancy.connectionFor(loc, options.context).request({ method: 'HEAD', container: loc.container, obj: loc.obj, signal: options.signal });
    discard(res);
    await checkSwiftStatus(res, maskLocation(location));
    return contentLength(res) ?? 0;
  }

  async delete(location: string, options: DriverCallOptions = {}): Promise<void> {
    const loc = this.tenancy.parse(location);
    const conn = this.tenancy.connectionFor(loc, options.context);
    const head = await conn.request({ method: 'HEAD', container: loc.container, obj: loc.obj, signal: options.signal });
    discard(head);
    await checkSwiftStatus(head, maskLocation(location));
    await removeObjectAndSegments(conn, loc.container, loc.obj, head, options.signal);
    // The per-image container goes too (a container still holding something else is kept).
    if (this.o.swift_store_multi_tenant) await deleteContainerQuietly(conn, loc.container);
  }

  /**
   * glance_store's set_acls for multi-tenant images: read access for the
   * given projects (or everyone), write access for the given projects and
   * swift_store_admin_tenants. Single-tenant images live in the store's own
   * account, where glance_store does not set ACLs either.
   */
  async setAcls(location: string, acls: ImageAcls, options: DriverCallOptions = {}): Promise<void> {
    if (!this.o.swift_store_multi_tenant) return;
    const loc = this.tenancy.parse(location);
    const read = acls.public ? '*:*' : (acls.readTenants ?? []).map((t) => `${t}:*`).join(',');
    const write = [...(acls.writeTenants ?? []), ...this.o.swift_store_admin_tenants].map((t) => `${t}:*`).join(',');
    const res = await this.tenancy.connectionFor(loc, options.context).request({
      method: 'POST',
      container: loc.container,
      headers: { 'x-container-read': read, 'x-container-write': write },
      signal: options.signal,
    });
    discard(res);
    await checkSwiftStatus(res, maskLocation(location));
  }

  list(options?: DriverListOptions): AsyncIterable<ListedImage> {
    return listSwiftImages(this.listing(), options);
  }

  leftovers(options?: DriverListOptions): AsyncIterable<StoreLeftover> {
    return swiftLeftovers(this.listing(), options);
  }

  async locationFor(imageId: string, options: DriverListOptions = {}): Promise<string> {
    return (await this.tenancy.addTarget(imageId, options.context, options.signal)).uri;
  }

  private listing(): SwiftListing {
    const o = this.o;
    return {
      storeId: this.id,
      multiTenant: o.swift_store_multi_tenant,
      container: o.swift_store_container,
      seeded: o.swift_store_multiple_containers_seed > 0,
      // Any id: only the account and credentials of the store's own adds are wanted.
      target: () => this.tenancy.addTarget('listing', undefined),
      ...(o.swift_store_config_file ? { reference: o.default_swift_reference } : {}),
    };
  }

  async close(): Promise<void> {
    this.tenancy.close();
    await this.client.close();
  }
}
