/**
 * The s3 store, on @aws-sdk/client-s3 and @aws-sdk/lib-storage (loaded only
 * when an s3 store is created). Images below s3_store_large_object_size go up
 * in one PUT; larger or unknown-size images stream through a multipart upload
 * with at most s3_store_thread_pools parts in memory and in flight. Any
 * failure aborts the multipart upload before the add rejects.
 */
import { Readable } from 'node:stream';
import type { HeadObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import {
  AuthenticationFailedError,
  BackendUnavailableError,
  BadStoreConfigurationError,
  BadStoreUriError,
  DuplicateError,
  GlanceStoreError,
  NotFoundError,
  StorageFullError,
} from '../../errors.js';
import type { Capability, DriverAddOptions, DriverAddResult, DriverCallOptions, DriverContext, DriverGetOptions, DriverGetResult, DriverListOptions, ListedImage, StoreLeftover, WritableStoreDriver } from '../../driver.js';
import { listS3Images, s3Leftovers, type S3Listing } from './list.js';
import { throwStoreProblems } from '../store-problems.js';
import { MASK, maskLocation } from '../../location.js';
import type { Logger } from '../../logger.js';
import type { Reclaimer } from '../../pipeline/reclaim.js';
import { serviceError, statusOf, STATUS_ERRORS, transportError, type ErrorClass, type FailedCall } from '../../net/failure.js';
import { checkedLength } from '../../net/response.js';
import { readTls, type TlsSettings } from '../../net/tls.js';
import { checksumSettings } from './checksums.js';
import { formatS3Location, parseS3Location, splitHost, type S3Location } from './location.js';
import type { S3StoreOptions } from './options.js';
import { Claims, claimOf, newClaim, type Claim, type ClaimKind } from './claim.js';
import { sdkLogger } from './sdk-logger.js';
import { AddRequests } from './add-requests.js';

const MiB = 1024 * 1024;
/** How long an aborted add waits for the removal of what it wrote before it rejects (a live server answers far sooner). */
const ABORTED_CLEANUP_WAIT_MS = 300;

/** S3 answers a refused signature or key with 403; its error names say more than its statuses. */
const S3_STATUSES: Readonly<Record<number, ErrorClass>> = { ...STATUS_ERRORS, 403: AuthenticationFailedError };
const S3_ERROR_NAMES: Readonly<Record<string, ErrorClass>> = {
  NoSuchKey: NotFoundError,
  NoSuchBucket: NotFoundError,
  NotFound: NotFoundError,
  InvalidAccessKeyId: AuthenticationFailedError,
  SignatureDoesNotMatch: AuthenticationFailedError,
  AccessDenied: AuthenticationFailedError,
  EntityTooLarge: StorageFullError,
  QuotaExceeded: StorageFullError,
  // A conditional write refused: another add of this id finished first.
  PreconditionFailed: DuplicateError,
  ConditionalRequestConflict: DuplicateError,
};

type Sdk = typeof import('@aws-sdk/client-s3');
type Storage = typeof import('@aws-sdk/lib-storage');

export class S3Store implements WritableStoreDriver {
  private readonly clients = new Map<string, S3Client>();
  private readonly endpoint: ReturnType<typeof splitHost>;
  /** Whether the endpoint honours If-None-Match on writes; learnt by the first add (claimKey). */
  private conditional: boolean | undefined;
  private readonly claims: Claims;

  private constructor(
    readonly id: string,
    private readonly options: S3StoreOptions,
    private readonly sdk: Sdk,
    private readonly storage: Storage,
    private readonly tls: TlsSettings,
    private readonly logger: Logger,
    private readonly reclaimer: Reclaimer,
  ) {
    this.endpoint = splitHost(options.s3_store_host);
    this.claims = new Claims(sdk, options.s3_store_bucket);
  }

  static async create(ctx: DriverContext<S3StoreOptions>): Promise<S3Store> {
    const o = ctx.options;
    // The options' rules (S3_OPTIONS: required ones, the bucket's name) were checked with the whole config.
    const { tls, problems } = readTls({ caFile: o.s3_store_cacert }, { caFile: 's3_store_cacert' });
    throwStoreProblems(ctx.id, problems);
    const [sdk, storage] = await Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]);
    return new S3Store(ctx.id, o, sdk, storage, tls, ctx.logger, ctx.reclaimer);
  }

  capabilities(): ReadonlySet<Capability> {
    return new Set<Capability>(['read', 'read-random', 'write']);
  }

  properties(): Record<string, unknown> {
    return {
      host: maskLocation(this.options.s3_store_host),
      bucket: this.options.s3_store_bucket,
      bucket_url_format: this.options.s3_store_bucket_url_format,
      large_object_size_mib: this.options.s3_store_large_object_size,
      large_object_chunk_size_mib: this.options.s3_store_large_object_chunk_size,
      thread_pools: this.options.s3_store_thread_pools,
      // What the AWS SDK is told (s3_store_enable_data_integrity_protection and the two checksum options).
      checksums: checksumSettings(this.options),
    };
  }

  ownsLocation(location: string): boolean {
    try {
      const loc = parseS3Location(location);
      return loc.host === this.endpoint.host && loc.bucket === this.options.s3_store_bucket;
    } catch {
      return false;
    }
  }

  /**
   * A client for one set of credentials. As glance_store, requests go to the
   * configured endpoint, signed with the credentials the location carries.
   */
  private client(accessKey: string, secretKey: string, https_ = this.endpoint.https): S3Client {
    const cacheKey = `${accessKey}\0${https_}`;
    let client = this.clients.get(cacheKey);
    if (client) return client;
    const format = this.options.s3_store_bucket_url_format;
    // "auto": path style where a virtual host name cannot work (an IP address or a bare host name).
    const hostOnly = this.endpoint.host.split('/')[0]!.replace(/:\d+$/, '');
    const pathStyle = format === 'path' || (format === 'auto' && (/^[\d.]+$/.test(hostOnly) || !hostOnly.includes('.') || hostOnly.startsWith('[')));
    client = new this.sdk.S3Client({
      endpoint: `${https_ ? 'https' : 'http'}://${this.endpoint.host}`,
      region: this.options.s3_store_region_name || 'us-east-1',
      credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
      forcePathStyle: pathStyle,
      // Checksums newer than SigV4's payload hash are not understood by every S3 server: only when asked for.
      ...checksumSettings(this.options),
      // Without a logger the SDK writes its warnings to the console; they go to the store's
      // logger instead (sdk-logger.ts).
      logger: sdkLogger(this.id, this.logger),
      requestHandler: {
        connectionTimeout: 10_000,
        // A server silent this long is unavailable. (The SDK's requestTimeout caps a whole
        // request, and by default only logs a warning when it passes.)
        socketTimeout: 120_000,
        ...(https_ ? { httpsAgent: this.tls.httpsAgent({ keepAlive: true }) } : {}),
      },
    });
    this.clients.set(cacheKey, client);
    return client;
  }

  private clientFor(loc: S3Location): S3Client {
    const accessKey = loc.accessKey ?? this.options.s3_store_access_key;
    let secretKey = loc.secretKey ?? this.options.s3_store_secret_key;
    // A location as printed (its secret masked) is read with the store's secret for that access key.
    if (secretKey === MASK) {
      if (accessKey !== this.options.s3_store_access_key) {
        throw new BadStoreUriError(`${maskLocation(formatS3Location(loc))} has its secret masked, and store ${this.id} has no secret for that access key`);
      }
      secretKey = this.options.s3_store_secret_key;
    }
    return this.client(accessKey, secretKey, loc.scheme === 's3+https');
  }

  async add(imageId: string, data: AsyncIterable<Uint8Array>, options: DriverAddOptions): Promise<DriverAddResult> {
    const o = this.options;
    const signal = options.signal;
    // Every request of the add ends soon after an abort or a failure (add-requests.ts).
    const requests = new AddRequests(this.client(o.s3_store_access_key, o.s3_store_secret_key), signal);
    const client = requests.client;
    const loc: S3Location = {
      scheme: this.endpoint.scheme,
      accessKey: o.s3_store_access_key,
      secretKey: o.s3_store_secret_key,
      host: this.endpoint.host,
      bucket: o.s3_store_bucket,
      key: imageId,
    };
    const where = `s3 object ${o.s3_store_bucket}/${imageId} in store ${this.id}`;
    const size = options.size;
    // A streamed single PUT with a checksum sends it in a trailer (aws-chunked, no Content-Length), which RGW
    // and Swift's s3api refuse (411): with request checksums on, every image takes the multipart path, whose
    // parts are buffers and carry their checksum in a header (docs/s3.md).
    const whole = size !== undefined && size < o.s3_store_large_object_size * MiB && checksumSettings(o).requestChecksumCalculation === 'WHEN_REQUIRED';
    const body = Readable.from(data, { objectMode: false });
    // The SDK reports the body's errors through the request; a listener keeps one
    // raised between requests from becoming an uncaught exception.
    body.on('error', () => undefined);
    /** What this add may have written that a failure must remove. */
    const left: { claim?: Claim; uploadId?: string } = {};
    let upload: InstanceType<Storage['Upload']> | undefined;
    try {
      await this.ensureBucket(client);
      const stale = await this.staleClaimAt(client, imageId, where);
      // Of several adds of one id at once, only one may write (where the endpoint allows it).
      const ifMatch = stale ? { IfMatch: stale } : { IfNoneMatch: '*' };
      // Taking a dead add's key over always goes through a claim: its small body's ETag tells this add's
      // write from another's when RGW answers a lost race with 500 instead of 412 (claimKey).
      const guarded = whole && !stale && this.conditional === true ? 'condition' : await this.claimKey(client, imageId, where, whole ? 'put' : 'multipart', left, stale);
      // This add holds the key now: an upload a dead add left open is not another's.
      if (stale && guarded === 'claimed') await this.claims.abortUploadsOf(client, imageId);
      if (whole) {
        const put = { Bucket: o.s3_store_bucket, Key: imageId, Body: body, ContentLength: size, ...(guarded === 'condition' ? ifMatch : {}) };
        await client.send(new this.sdk.PutObjectCommand(put));
        if (stale && guarded === 'condition') await this.claims.abortUploadsOf(client, imageId).catch(() => undefined);
      } else {
        // Unknown or large: parts of s3_store_large_object_chunk_size, at most s3_store_thread_pools in flight.
        // lib-storage sends a single PUT when the data fits in one part (a 0-byte image too).
        upload = new this.storage.Upload({
          client,
          params: { Bucket: o.s3_store_bucket, Key: imageId, Body: body },
          partSize: o.s3_store_large_object_chunk_size * MiB,
          queueSize: o.s3_store_thread_pools,
          leavePartsOnError: false,
        });
        const stop = () => void upload?.abort();
        signal?.addEventListener('abort', stop, { once: true });
        try {
          await upload.done();
        } finally {
          signal?.removeEventListener('abort', stop);
        }
      }
    } catch (err) {
      body.destroy();
      await requests.drained();
      left.uploadId = upload?.uploadId;
      // An aborted add (the caller, a failed check) waits for the cleanup's first attempt only
      // briefly: the server may have stopped answering, and the reclaimer goes on without it.
      await this.removeUnfinished(loc, left, signal?.aborted ? ABORTED_CLEANUP_WAIT_MS : undefined);
      throw this.mapError(err, where, signal);
    } finally {
      requests.close();
    }
    return { location: formatS3Location(loc) };
  }

  /** Hands what a failed add left (its claim, its upload) to the reclaimer, which retries until the server answers. */
  private async removeUnfinished(loc: S3Location, left: { claim?: Claim; uploadId?: string }, waitMs?: number): Promise<void> {
    if (!left.claim && !left.uploadId) return;
    const client = this.client(this.options.s3_store_access_key, this.options.s3_store_secret_key);
    const kind = left.claim && left.uploadId ? 'claim and multipart upload' : left.claim ? 'claim' : 'multipart upload';
    const where = `s3 object ${loc.bucket}/${loc.key} in store ${this.id}`;
    await this.reclaimer.reclaim({ kind, location: formatS3Location(loc) }, async (signal) => {
      try {
        await this.claims.removeUnfinished(client, loc.key, left, signal);
      } catch (err) {
        throw this.mapError(err, where, signal);
      }
    }, { waitMs });
  }

  /**
   * Whether `key` is free: nothing there (undefined), or a stale claim a dead
   * add left (its ETag, for the take-over to name). An image, or the claim
   * of an add still running, makes this add a Duplicate.
   */
  private async staleClaimAt(client: S3Client, key: string, where: string): Promise<string | undefined> {
    const head = await this.head(client, this.options.s3_store_bucket, key, where);
    if (!head) return undefined;
    const claim = claimOf(head.Metadata);
    const duplicate = () => new DuplicateError(`Image ${key} already exists in store ${this.id}`);
    if (!claim) throw duplicate();
    let stale: boolean;
    try {
      stale = await this.claims.isStale(client, key, claim);
    } catch (err) {
      throw this.mapError(err, where);
    }
    if (!stale) throw new DuplicateError(`Image ${key} is being added to store ${this.id} by another add (since ${new Date(claim.since).toISOString()})`);
    this.logger.info({ store: this.id, image: key }, `store ${this.id}: taking over the key of ${key} from an add that died (its claim dates from ${new Date(claim.since).toISOString()})`);
    if (!head.ETag) throw duplicate();
    return head.ETag.replace(/"/g, '');
  }

  /**
   * Makes this add the only one writing `key` with a claim (claim.ts) that
   * the image then replaces: another add of the id at once gets 412
   * (Duplicate) before it sends any data. A single PUT can carry the
   * condition itself once the endpoint is known to honour it; a multipart
   * upload needs the claim, as RGW ignores the condition on
   * CompleteMultipartUpload. Swift's s3api refuses conditional writes (501):
   * the first claim tells, and its adds are then not serialised (docs/s3.md).
   */
  private async claimKey(client: S3Client, key: string, where: string, kind: ClaimKind, left: { claim?: Claim }, stale: string | undefined): Promise<'claimed' | 'unguarded'> {
    if (this.conditional === false) {
      // No condition to take a dead add's claim over with: it is removed, and the add goes on unguarded.
      if (stale) await this.deleteObject(client, this.options.s3_store_bucket, key);
      return 'unguarded';
    }
    const claim = newClaim(kind);
    // Written or not, once sent: a failure from here removes it if the key holds it.
    left.claim = claim;
    const condition = stale ? { IfMatch: stale } : { IfNoneMatch: '*' };
    try {
      await client.send(new this.sdk.PutObjectCommand({ Bucket: this.options.s3_store_bucket, Key: key, Body: claim.body, Metadata: claim.metadata, ...condition }));
    } catch (err) {
      const refused = statusOf(err) === 501 || (err as { name?: string }).name === 'NotImplemented';
      if (!refused) {
        // A 412 may answer the SDK's retry of an attempt that did write this claim (its answer lost).
        const outcome = await this.claims.outcomeOf(client, key, claim, stale);
        if (outcome === 'won') {
          this.conditional = true;
          return 'claimed';
        }
        // Lost: the key is another add's, so cleanup must leave it alone.
        if (outcome === 'lost' || statusOf(err) === 412) left.claim = undefined;
        if (outcome === 'lost') throw new DuplicateError(`Image ${key} is being added to store ${this.id} by another add`);
        throw this.mapError(err, where);
      }
      left.claim = undefined;
      if (this.conditional === undefined) {
        this.logger.warn({ store: this.id }, `store ${this.id}: the S3 endpoint refuses conditional writes (If-None-Match), so adds of one image id at once are not serialised (docs/s3.md)`);
      }
      this.conditional = false;
      if (stale) await this.deleteObject(client, this.options.s3_store_bucket, key);
      return 'unguarded';
    }
    this.conditional = true;
    return 'claimed';
  }

  private async ensureBucket(client: S3Client): Promise<void> {
    const bucket = this.options.s3_store_bucket;
    try {
      await client.send(new this.sdk.HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (err) {
      if (statusOf(err) !== 404) throw this.mapError(err, `bucket ${bucket}`);
    }
    if (!this.options.s3_store_create_bucket_on_put) {
      throw new BadStoreConfigurationError(`The bucket ${bucket} of store ${this.id} does not exist; create it or set s3_store_create_bucket_on_put = true`);
    }
    try {
      const region = this.options.s3_store_region_name;
      await client.send(
        new this.sdk.CreateBucketCommand({
          Bucket: bucket,
          ...(region && region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as never } } : {}),
        }),
      );
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou') throw this.mapError(err, `creating bucket ${bucket}`);
    }
  }

  /** The object's head, or undefined when there is none. */
  private async head(client: S3Client, bucket: string, key: string, where: string, signal?: AbortSignal): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await client.send(new this.sdk.HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw this.mapError(err, where, signal);
    }
  }

  /** A claim (claim.ts) is an add that has not finished, or one that failed: never an image. */
  private notAnImage(location: string, metadata: Record<string, string> | undefined): NotFoundError | undefined {
    const claim = claimOf(metadata);
    if (!claim) return undefined;
    return new NotFoundError(`${maskLocation(location)} was not found: it holds the claim of an add that has not finished or failed (since ${new Date(claim.since).toISOString()}), not an image`);
  }

  async get(location: string, options: DriverGetOptions = {}): Promise<DriverGetResult> {
    const loc = parseS3Location(location);
    const client = this.clientFor(loc);
    // MultiStore hands over a range inside the image, never an empty one.
    const start = options.offset;
    const range = start !== undefined && options.length !== undefined ? `bytes=${start}-${start + options.length - 1}` : undefined;
    try {
      const r = await client.send(new this.sdk.GetObjectCommand({ Bucket: loc.bucket, Key: loc.key, ...(range ? { Range: range } : {}) }), {
        abortSignal: options.signal,
      });
      const claim = this.notAnImage(location, r.Metadata);
      if (claim) {
        (r.Body as Readable | undefined)?.destroy();
        throw claim;
      }
      const call = this.failedCall(`Reading ${maskLocation(location)}`, options.signal);
      const stream = checkedLength(r.Body as Readable, r.ContentLength, (seen) => new BackendUnavailableError(`${call.what}: the S3 server sent ${seen} of ${r.ContentLength} bytes`), (err) => transportError(err, call));
      return { stream, size: r.ContentLength };
    } catch (err) {
      throw this.mapError(err, maskLocation(location), options.signal);
    }
  }

  async getSize(location: string, options: DriverCallOptions = {}): Promise<number> {
    const loc = parseS3Location(location);
    try {
      const r = await this.clientFor(loc).send(new this.sdk.HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: options.signal });
      const claim = this.notAnImage(location, r.Metadata);
      if (claim) throw claim;
      return r.ContentLength ?? 0;
    } catch (err) {
      throw this.mapError(err, maskLocation(location), options.signal);
    }
  }

  async delete(location: string, options: DriverCallOptions = {}): Promise<void> {
    const loc = parseS3Location(location);
    const client = this.clientFor(loc);
    // S3 deletes of a missing key succeed silently; Glance expects NotFound. A claim is
    // another add's (or a failed add's, which its reclaimer or the next add removes).
    const head = await this.head(client, loc.bucket, loc.key, maskLocation(location), options.signal);
    if (!head) throw new NotFoundError(`${maskLocation(location)} was not found`);
    const claim = this.notAnImage(location, head.Metadata);
    if (claim) throw claim;
    await this.deleteObject(client, loc.bucket, loc.key, options.signal);
  }

  private async deleteObject(client: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<void> {
    try {
      await client.send(new this.sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    } catch (err) {
      throw this.mapError(err, `s3 object ${bucket}/${key}`, signal);
    }
  }

  list(options?: DriverListOptions): AsyncIterable<ListedImage> {
    return listS3Images(this.listing(), options);
  }

  leftovers(options?: DriverListOptions): AsyncIterable<StoreLeftover> {
    return s3Leftovers(this.listing(), options);
  }

  async locationFor(imageId: string): Promise<string> {
    return this.listing().location(imageId);
  }

  private listing(): S3Listing {
    const o = this.options;
    const location = (key: string) => formatS3Location({ scheme: this.endpoint.scheme, accessKey: o.s3_store_access_key, secretKey: o.s3_store_secret_key, host: this.endpoint.host, bucket: o.s3_store_bucket, key });
    return { client: this.client(o.s3_store_access_key, o.s3_store_secret_key), sdk: this.sdk, bucket: o.s3_store_bucket, location, mapError: (e, w, s) => this.mapError(e, w, s) };
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }

  private failedCall(what: string, signal: AbortSignal | undefined): FailedCall {
    return { what, service: 'the S3 server', signal, tlsHint: this.tls.hint };
  }

  private mapError(err: unknown, what: string, signal?: AbortSignal): GlanceStoreError {
    return serviceError(err, { ...this.failedCall(what, signal), statuses: S3_STATUSES, names: S3_ERROR_NAMES });
  }
}

