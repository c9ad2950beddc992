/**
 * Verified reads against real object stores: an image's object is
 * overwritten behind the library's back (same length, other bytes), and a
 * verified get fails with ChecksumMismatch in place of its end, while the
 * untouched image reads cleanly; ms.verify says which hashes differ. Ceph's
 * radosgw for s3, Swift (tempauth) for swift. Runs under the backend lock.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { S3Client, DeleteBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { consume } from './streams.js';
import { MultiStore, parseConfig, ChecksumMismatchError, type AddResult } from '../src/index.js';
import { serviceEnv } from './services/env.js';
import { swiftContainerListing, swiftRequest, swiftStoreConf, type SwiftAccount } from './services/swift-api.js';

const ceph = serviceEnv('ceph');
const swift = serviceEnv('swift');
const account: SwiftAccount | undefined = swift && { authUrl: swift['SWIFT_AUTH_URL']!, user: swift['SWIFT_USER']!, key: swift['SWIFT_KEY']! };

/** The same checks for either store: `overwrite` replaces the stored bytes of the image. */
async function corruptionIsCaught(ms: MultiStore, overwrite: (image: AddResult, bytes: Buffer) => Promise<void>): Promise<void> {
  const size = 3 * 1024 * 1024 + 9;
  const image = await ms.add(randomUUID(), randomBytes(size));
  const verify = { checksum: image.checksum, multihash: image.multihash };
  try {
    expect(await consume((await ms.get(image.location, { verify })).stream)).toEqual({ bytes: size, ended: true });
    const other = randomBytes(size);
    await overwrite(image, other);
    const seen = await consume((await ms.get(image.location, { verify })).stream);
    expect(seen.ended).toBe(false);
    expect(seen.error).toBeInstanceOf(ChecksumMismatchError);
    expect(seen.bytes).toBe(size);
    const r = await ms.verify(image.location, verify);
    expect(r).toMatchObject({ ok: false, matched: [], mismatched: ['checksum', 'multihash'], size });
  } finally {
    await ms.delete(image.location);
  }
}

describe.skipIf(!ceph)('verified reads on the s3 store (radosgw)', () => {
  const bucket = `glance-verify-${randomUUID().slice(0, 8)}`;
  let ms: MultiStore;
  let s3: S3Client;
  beforeAll(async () => {
    ms = await MultiStore.create(
      parseConfig(
        `[DEFAULT]\nenabled_backends = objects:s3\n[glance_store]\ndefault_backend = objects\n[objects]\ns3_store_host = ${ceph!['RGW_ENDPOINT']}\ns3_store_access_key = ${ceph!['RGW_ACCESS_KEY']}\ns3_store_secret_key = ${ceph!['RGW_SECRET_KEY']}\ns3_store_bucket = ${bucket}\ns3_store_create_bucket_on_put = true\n`,
      ),
    );
    s3 = new S3Client({
      endpoint: ceph!['RGW_ENDPOINT'],
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: ceph!['RGW_ACCESS_KEY']!, secretAccessKey: ceph!['RGW_SECRET_KEY']! },
    });
  });
  afterAll(async () => {
    await ms?.close();
    await s3?.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    s3?.destroy();
  });

  it('an object overwritten behind the store fails the verified get at its end', async () => {
    await corruptionIsCaught(ms, async (image, bytes) => {
      const key = new URL(image.location).pathname.split('/').at(-1)!;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    });
  });
});

describe.skipIf(!swift)('verified reads on the swift store', () => {
  const container = `glance-verify-${randomUUID().slice(0, 8)}`;
  let ms: MultiStore;
  beforeAll(async () => {
    const auth = ['swift_store_auth_version = 1', `swift_store_auth_address = ${swift!['SWIFT_AUTH_URL']}`, `swift_store_user = ${swift!['SWIFT_USER']}`, `swift_store_key = ${swift!['SWIFT_KEY']}`];
    ms = await MultiStore.create(parseConfig(swiftStoreConf(auth, container)));
  });
  afterAll(async () => {
    await ms?.close();
    if (swift) {
      for (const name of await swiftContainerListing(account!, container)) await (await swiftRequest(account!, 'DELETE', `${container}/${encodeURIComponent(name)}`)).arrayBuffer();
      await (await swiftRequest(account!, 'DELETE', container)).arrayBuffer();
    }
  });

  it('an object overwritten behind the store fails the verified get at its end', async () => {
    await corruptionIsCaught(ms, async (image, bytes) => {
      const name = new URL(image.location).pathname.split('/').at(-1)!;
      const r = await swiftRequest(account!, 'PUT', `${container}/${name}`, { body: bytes });
      await r.arrayBuffer();
      expect(r.status).toBe(201);
    });
  });
});
