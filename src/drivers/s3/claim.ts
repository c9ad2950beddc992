/**
 * The claim an add writes at its image's key before sending data, so that of
 * several adds of one id at once only one writes (written with
 * If-None-Match: *, atomic in Ceph RGW and AWS S3). The image then replaces
 * it. A claim is told from an image by its metadata (`x-amz-meta-glance-store-claim:
 * <kind> <time>`): glance_store's objects and every image this driver
 * writes have none, so they read as before, and a claim is never served as
 * an image. Its body is unique to the add that wrote it, so its ETag (the
 * body's md5) names that add's claim alone: cleanup removes only its own
 * claim, and an add takes over a stale claim with If-Match on that ETag,
 * so of two adds that find the same stale claim only one wins.
 *
 * A claim is stale when its add is dead: a multipart claim with no upload
 * open a minute after it was written (its add opens the upload at once), or
 * any claim whose add has written nothing (no part, no upload) for ten
 * minutes, far past the client's 120 s socket timeout. A failed add removes
 * its own claim (through the store's reclaimer when the server is down); a
 * process that died mid-add leaves one that the next add of the id takes over.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { statusOf } from '../../net/failure.js';

type Sdk = typeof import('@aws-sdk/client-s3');

/** The user-metadata key that marks a claim (sent as x-amz-meta-glance-store-claim). */
export const CLAIM_META = 'glance-store-claim';
export type ClaimKind = 'put' | 'multipart';

/** A multipart add opens its upload right after its claim: this long without one, the add is gone. */
export const CLAIM_UNOPENED_MS = 60_000;
/** An add silent this long is dead: the client gives up on a server silent for 120 s. */
export const CLAIM_IDLE_MS = 10 * 60_000;

/** A claim an add writes. */
export interface Claim {
  kind: ClaimKind;
  body: string;
  /** The md5 of the body: the ETag the server gives the claim. */
  etag: string;
  metadata: Record<string, string>;
}

export function newClaim(kind: ClaimKind, now = Date.now()): Claim {
  const body = `glance-store claim ${randomBytes(16).toString('hex')}\n`;
  return { kind, body, etag: createHash('md5').update(body).digest('hex'), metadata: { [CLAIM_META]: `${kind} ${new Date(now).toISOString()}` } };
}

/** The claim an object's metadata marks; undefined for an image (glance_store's included). */
export function claimOf(metadata: Record<string, string> | undefined): { kind: ClaimKind; since: number } | undefined {
  const value = metadata?.[CLAIM_META];
  if (value === undefined) return undefined;
  const [kind, at] = value.split(' ');
  const since = Date.parse(at ?? '');
  // A claim whose time cannot be read is as old as can be: stale.
  return { kind: kind === 'put' ? 'put' : 'multipart', since: Number.isNaN(since) ? 0 : since };
}

/** An ETag as S3 sends it (quoted) compared with an md5. */
export const sameEtag = (etag: string | undefined, md5: string) => etag?.replace(/"/g, '') === md5;

/** The S3 calls around the claims of one bucket. */
export class Claims {
  constructor(
    private readonly sdk: Sdk,
    private readonly bucket: string,
  ) {}

  /** The multipart uploads open for exactly `key`. */
  async uploadsOf(client: S3Client, key: string, signal?: AbortSignal): Promise<{ UploadId: string; Initiated?: Date }[]> {
    const r = await client.send(new this.sdk.ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: key }), { abortSignal: signal });
    return (r.Uploads ?? []).filter((u) => u.Key === key && u.UploadId).map((u) => ({ UploadId: u.UploadId!, Initiated: u.Initiated }));
  }

  /** Whether the add that wrote a claim is dead (see above), so another add may take the key over. */
  async isStale(client: S3Client, key: string, claim: { kind: ClaimKind; since: number }, signal?: AbortSignal, now = Date.now()): Promise<boolean> {
    if (claim.kind === 'put') return now - claim.since > CLAIM_IDLE_MS;
    const uploads = await this.uploadsOf(client, key, signal);
    if (!uploads.length) return now - claim.since > CLAIM_UNOPENED_MS;
    let newest = claim.since;
    for (const u of uploads) {
      newest = Math.max(newest, u.Initiated?.getTime() ?? 0);
      const parts = await client.send(new this.sdk.ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: u.UploadId }), { abortSignal: signal });
      for (const p of parts.Parts ?? []) newest = Math.max(newest, p.LastModified?.getTime() ?? 0);
    }
    return now - newest > CLAIM_IDLE_MS;
  }

  /** Aborts one upload; one already gone is fine. */
  async abortUpload(client: S3Client, key: string, UploadId: string, signal?: AbortSignal): Promise<void> {
    try {
      await client.send(new this.sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId }), { abortSignal: signal });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  /** Aborts every upload open for `key`: only while this add holds the key's claim, so none is another live add's. */
  async abortUploadsOf(client: S3Client, key: string, signal?: AbortSignal): Promise<void> {
    for (const u of await this.uploadsOf(client, key, signal)) await this.abortUpload(client, key, u.UploadId, signal);
  }

  /**
   * What a conditional claim write that failed without a clear answer (a lost connection, or
   * the 500 RGW gives the loser of a conditional race where S3 gives 412) did: the key holding
   * this claim means it was written (won); another claim or an image means another add won
   * (lost); nothing there, the dead add's claim (`stale`) still there, or no answer to the
   * look leaves the write's own error standing (unknown).
   */
  async outcomeOf(client: S3Client, key: string, claim: Claim, stale: string | undefined): Promise<'won' | 'lost' | 'unknown'> {
    let etag: string | undefined;
    try {
      etag = await this.etagAt(client, key);
    } catch {
      return 'unknown';
    }
    if (!etag || (stale !== undefined && sameEtag(etag, stale))) return 'unknown';
    return sameEtag(etag, claim.etag) ? 'won' : 'lost';
  }

  /** The ETag of what `key` holds; undefined when it holds nothing. */
  private async etagAt(client: S3Client, key: string, signal?: AbortSignal): Promise<string | undefined> {
    try {
      return (await client.send(new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal })).ETag;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * Removes what a failed add left: its upload, and its claim if the key
   * still holds that claim (not an image, not another add's claim), with
   * any upload of the key it never learnt the id of.
   */
  async removeUnfinished(client: S3Client, key: string, left: { claim?: Claim; uploadId?: string }, signal: AbortSignal): Promise<void> {
    if (left.uploadId) await this.abortUpload(client, key, left.uploadId, signal);
    if (!left.claim) return;
    if (!sameEtag(await this.etagAt(client, key, signal), left.claim.etag)) return;
    await this.abortUploadsOf(client, key, signal);
    await client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
  }
}
