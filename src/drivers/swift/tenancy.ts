/**
 * Whose account an image lives in, and in which container. Single tenant:
 * the store's own account, reached with the credentials of an account
 * reference (or those a location carries), in one container or containers
 * seeded by the image id. Multi-tenant: the account of the user adding the
 * image, reached with the request's token, in a container of the image's own.
 */
import { createHash } from 'node:crypto';
import { BackendError, BadStoreConfigurationError, BadStoreUriError } from '../../errors.js';
import type { RequestContext } from '../../driver.js';
import { MASK, maskLocation } from '../../location.js';
import { userEndpoint } from '../../net/keystone.js';
import { discard } from '../../net/response.js';
import type { ServiceClient } from '../../net/client.js';
import { catalogChoice, passwordAuthenticator, type Authenticator, type SwiftEndpoint } from './auth.js';
import { SwiftConnection } from './connection.js';
import { formatSwiftConfigLocation, formatSwiftLocation, parseSwiftLocation, swiftUrl, type SwiftLocation } from './location.js';
import { checkSwiftStatus } from './objects.js';
import type { SwiftStoreOptions } from './options.js';
import type { SwiftReference } from './references.js';

type TenancyOptions = Pick<
  SwiftStoreOptions,
  | 'swift_store_multi_tenant'
  | 'swift_store_container'
  | 'swift_store_multiple_containers_seed'
  | 'swift_store_config_file'
  | 'default_swift_reference'
  | 'swift_store_auth_version'
  | 'swift_store_auth_address'
  | 'swift_store_endpoint'
  | 'swift_store_create_container_on_put'
  | 'swift_store_expire_soon_interval'
>;

/** Where a new image goes, and the location URI glance_store would write for it. */
export interface AddTarget {
  conn: SwiftConnection;
  loc: SwiftLocation;
  uri: string;
}

export class SwiftTenancy {
  private readonly connections = new Map<string, SwiftConnection>();
  private readonly containersSeen = new Set<string>();

  constructor(
    private readonly storeId: string,
    private readonly o: TenancyOptions,
    private readonly references: ReadonlyMap<string, SwiftReference>,
    /** The reference new images are written with (single tenant). */
    private readonly defaultReference: SwiftReference | undefined,
    private readonly endpoint: SwiftEndpoint,
    /** The store's client, without a token. */
    private readonly client: ServiceClient,
  ) {}

  parse(location: string): SwiftLocation {
    return parseSwiftLocation(location, this.references);
  }

  /** Whether a location is in this store's containers and account(s). */
  owns(location: string): boolean {
    try {
      const loc = this.parse(location);
      const c = this.o.swift_store_container;
      if (loc.container !== c && !loc.container.startsWith(`${c}_`)) return false;
      if (this.o.swift_store_multi_tenant) return loc.user === undefined;
      return loc.reference !== undefined || this.applicationCredentialFor(loc) !== undefined || (loc.user !== undefined && stripSlash(swiftUrl(loc)) === stripSlash(this.defaultReference!.authAddress));
    } catch {
      return false;
    }
  }

  /** The connection that reaches a location: its own credentials (single tenant) or the request's token (multi-tenant). */
  connectionFor(location: SwiftLocation, context: RequestContext | undefined): SwiftConnection {
    let loc = location;
    const appRef = this.applicationCredentialFor(loc);
    if (appRef) {
      const authUrl = swiftUrl(loc);
      const cred = appRef.applicationCredential!;
      return this.cached(`${authUrl}\0application credential\0${cred.id}\0${cred.secret}`, () => passwordAuthenticator({ ...appRef, authAddress: authUrl }, this.endpoint, this.client));
    }
    if (this.o.swift_store_multi_tenant || loc.user === undefined) {
      return this.tokenConnection(swiftUrl(loc), context);
    }
    const ref = loc.reference ? this.references.get(loc.reference)! : this.defaultReference;
    const authUrl = swiftUrl(loc);
    // A location as printed (its key masked) is read with the key of the reference it names.
    if (loc.key === MASK) {
      const match = [...this.references.values()].find((r) => r.user === loc.user && stripSlash(r.authAddress) === stripSlash(authUrl));
      if (!match) throw new BadStoreUriError(`${maskLocation(formatSwiftLocation(loc))} has its key masked, and no account reference of store ${this.storeId} has that user and auth address`);
      loc = { ...loc, key: match.key };
    }
    return this.cached(`${authUrl}\0${loc.user}\0${loc.key}`, () =>
      passwordAuthenticator(
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
        this.client,
      ),
    );
  }

  /** One connection per account and credentials (keyed by a hash: no secret is kept as a key). */
  private cached(identity: string, authenticator: () => Authenticator): SwiftConnection {
    const cacheKey = createHash('sha256').update(identity).digest('hex');
    let conn = this.connections.get(cacheKey);
    if (!conn) {
      conn = new SwiftConnection(this.client, this.o.swift_store_expire_soon_interval * 1000, authenticator());
      this.connections.set(cacheKey, conn);
    }
    return conn;
  }

  /**
   * The application credential reference a single-tenant location is read
   * with: the one a swift+config location names, or, for a location without
   * credentials at the default reference's auth address (what a store with
   * swift_store_application_credential_id writes), the default reference.
   */
  private applicationCredentialFor(loc: SwiftLocation): SwiftReference | undefined {
    if (this.o.swift_store_multi_tenant) return undefined;
    const ref = loc.reference ? this.references.get(loc.reference) : loc.user ? undefined : this.defaultReference;
    if (!ref?.applicationCredential) return undefined;
    if (!loc.reference && stripSlash(swiftUrl(loc)) !== stripSlash(ref.authAddress)) return undefined;
    return ref;
  }

  /** Where a new image goes, and the location URI glance_store would write for it. */
  async addTarget(imageId: string, context: RequestContext | undefined, signal?: AbortSignal): Promise<AddTarget> {
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
      ...(ref.applicationCredential ? {} : { user: ref.user, key: ref.key }),
      authOrStoreUrl: ref.authAddress,
      container: containerName(o.swift_store_container, imageId, o.swift_store_multiple_containers_seed),
      obj: imageId,
    };
    // With a references file, locations name the reference instead of holding credentials.
    const uri = o.swift_store_config_file ? formatSwiftConfigLocation(o.default_swift_reference, loc.container, loc.obj) : formatSwiftLocation(loc);
    return { conn: this.connectionFor(loc, context), loc, uri };
  }

  /**
   * Creates the container when missing and allowed, and says whether it did.
   * A container seen once is not asked about again (single tenant: every add
   * goes to the same few).
   */
  async ensureContainer(conn: SwiftConnection, loc: SwiftLocation, signal?: AbortSignal): Promise<boolean> {
    const container = loc.container;
    const key = containerKey(loc);
    if (this.containersSeen.has(key)) return false;
    const head = await conn.request({ method: 'HEAD', container, signal });
    discard(head);
    if (head.statusCode >= 200 && head.statusCode < 300) {
      if (!this.o.swift_store_multi_tenant) this.containersSeen.add(key);
      return false;
    }
    if (head.statusCode !== 404) await checkSwiftStatus(head, `HEAD of container ${container}`);
    if (!this.o.swift_store_create_container_on_put) {
      throw new BackendError(`The container ${container} does not exist in Swift; create it or set swift_store_create_container_on_put = true in store ${this.storeId}`);
    }
    const res = await conn.request({ method: 'PUT', container, headers: { 'content-length': '0' }, signal });
    await checkSwiftStatus(res, `creating container ${container}`);
    return true;
  }

  /** Forgets a container that turned out to be gone, so the next add looks again. */
  forgetContainer(loc: SwiftLocation): void {
    this.containersSeen.delete(containerKey(loc));
  }

  close(): void {
    this.connections.clear();
  }

  private tokenConnection(storageUrl: string, context: RequestContext | undefined): SwiftConnection {
    return new SwiftConnection(this.client, 0, undefined, { token: this.userToken(context), endpoint: storageUrl });
  }

  /** The user's token a multi-tenant call works with. */
  private userToken(context: RequestContext | undefined): string {
    if (!context?.authToken) throw new BadStoreConfigurationError(`[${this.storeId}] a multi-tenant swift store needs a request context with the user's token (context.authToken)`);
    return context.authToken;
  }

  /**
   * The user's Swift account URL for a multi-tenant add: swift_store_endpoint,
   * else the request's service catalog, else the catalog Keystone v3 returns
   * for the user's token at swift_store_auth_address.
   */
  private async userStorageUrl(context: RequestContext | undefined, signal?: AbortSignal): Promise<string> {
    const token = this.userToken(context);
    if (this.o.swift_store_endpoint) return this.o.swift_store_endpoint;
    if (!context?.serviceCatalog && !this.o.swift_store_auth_address) {
      throw new BadStoreConfigurationError(`[${this.storeId}] a multi-tenant swift store needs the request's service catalog (context.serviceCatalog), swift_store_endpoint or swift_store_auth_address`);
    }
    const user = { token, ...(context?.projectId ? { projectId: context.projectId } : {}), ...(context?.serviceCatalog ? { catalog: context.serviceCatalog } : {}) };
    return userEndpoint(user, catalogChoice(this.endpoint), this.o.swift_store_auth_address, { client: this.client, signal });
  }
}

/** Which account and container a container check was for. */
function containerKey(loc: SwiftLocation): string {
  return `${loc.authOrStoreUrl}\0${loc.user ?? ''}\0${loc.container}`;
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
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
