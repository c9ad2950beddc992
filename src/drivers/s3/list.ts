/**
 * Listing an s3 store's bucket, a page (1000 keys) at a time. An image is an
 * object named by an image id. A claim (claim.ts) is an add that has not
 * finished, or whose process died: never an image, and a leftover. Claims
 * are told by their metadata, which a listing does not carry, so only
 * objects of a claim's exact length (a claim's body is fixed-length) are
 * asked for their head. Unfinished multipart uploads are leftovers too:
 * their parts are never listed as objects.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { DriverListOptions, ListedImage, StoreLeftover } from '../../driver.js';
import type { GlanceStoreError } from '../../errors.js';
import { isImageId } from '../../image-id.js';
import { statusOf } from '../../net/failure.js';
import { claimOf, newClaim } from './claim.js';

type Sdk = typeof import('@aws-sdk/client-s3');

/** What a listing needs of the store: its client, bucket, how it writes locations and maps errors. */
export interface S3Listing {
  client: S3Client;
  sdk: Sdk;
  bucket: string;
  location(key: string): string;
  mapError(err: unknown, what: string, signal?: AbortSignal): GlanceStoreError;
}

const CLAIM_BYTES = Buffer.byteLength(newClaim('put').body);

const noBucket = (err: unknown) => (err as { name?: string }).name === 'NoSuchBucket' || (statusOf(err) === 404 && (err as { Code?: string }).Code === 'NoSuchBucket');

interface Listed {
  key: string;
  size: number;
  modified?: Date;
  claim?: { since: number };
}

/** Every object of the bucket, with the claim a claim-sized one holds. */
async function* objects(b: S3Listing, signal: AbortSignal | undefined): AsyncGenerator<Listed> {
  let token: string | undefined;
  do {
    let page;
    try {
      page = await b.client.send(new b.sdk.ListObjectsV2Command({ Bucket: b.bucket, MaxKeys: 1000, ContinuationToken: token }), { abortSignal: signal });
    } catch (err) {
      // The bucket is made by the first add: until then the store holds nothing.
      if (noBucket(err)) return;
      throw b.mapError(err, `listing bucket ${b.bucket}`, signal);
    }
    for (const o of page.Contents ?? []) {
      if (!o.Key) continue;
      const size = o.Size ?? 0;
      let claim: { since: number } | undefined;
      if (size === CLAIM_BYTES) {
        try {
          const head = await b.client.send(new b.sdk.HeadObjectCommand({ Bucket: b.bucket, Key: o.Key }), { abortSignal: signal });
          claim = claimOf(head.Metadata);
        } catch (err) {
          // Removed since the page was read: an add that finished or failed, or an image deleted.
          if (statusOf(err) === 404) continue;
          throw b.mapError(err, `s3 object ${b.bucket}/${o.Key}`, signal);
        }
      }
      yield { key: o.Key, size, modified: o.LastModified, ...(claim ? { claim } : {}) };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

export async function* listS3Images(b: S3Listing, options: DriverListOptions = {}): AsyncGenerator<ListedImage> {
  for await (const o of objects(b, options.signal)) {
    if (o.claim || !isImageId(o.key)) continue;
    yield { id: o.key, size: o.size, location: b.location(o.key), ...(o.modified ? { since: o.modified } : {}) };
  }
}

export async function* s3Leftovers(b: S3Listing, options: DriverListOptions = {}): AsyncGenerator<StoreLeftover> {
  const { signal } = options;
  for await (const o of objects(b, signal)) {
    if (o.claim) yield { kind: 'claim', location: b.location(o.key), imageId: o.key, since: o.claim.since ? new Date(o.claim.since) : undefined, size: o.size };
  }
  let keyMarker: string | undefined;
  let uploadMarker: string | undefined;
  for (;;) {
    let page;
    try {
      page = await b.client.send(new b.sdk.ListMultipartUploadsCommand({ Bucket: b.bucket, KeyMarker: keyMarker, UploadIdMarker: uploadMarker, MaxUploads: 1000 }), { abortSignal: signal });
    } catch (err) {
      if (noBucket(err)) return;
      throw b.mapError(err, `listing the multipart uploads of bucket ${b.bucket}`, signal);
    }
    for (const u of page.Uploads ?? []) {
      if (!u.Key) continue;
      yield { kind: 'multipart upload', location: b.location(u.Key), imageId: u.Key, since: u.Initiated };
    }
    if (!page.IsTruncated || (!page.NextKeyMarker && !page.NextUploadIdMarker)) return;
    keyMarker = page.NextKeyMarker;
    uploadMarker = page.NextUploadIdMarker;
  }
}
