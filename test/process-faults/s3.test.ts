/**
 * The s3 store while Ceph's radosgw is stopped (SIGSTOP) or killed
 * (SIGKILL) in the middle of a multipart add: the add settles promptly with
 * the error that says what happened, nothing of it is left once radosgw
 * answers again (its claim, its multipart upload), the location it would
 * have had never reads as an image, and the same MultiStore adds the same id
 * again. Runs under the backend lock, after the rest of the suite
 * (vitest.process-faults.config.ts).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { S3Client, ListObjectsV2Command, ListMultipartUploadsCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import { MultiStore, parseConfig } from '../../src/index.js';
import { serviceEnv } from '../services/env.js';
import { rgwClient } from '../services/rgw-api.js';
import { kill, pause, restart, resume, withFault, type Daemon } from '../services/daemons.js';

const ceph = serviceEnv('ceph');
const radosgw: Daemon = { service: 'ceph', name: 'rgw' };
const MiB = 1024 * 1024;
const IMAGE_BYTES = 64 * MiB;
/** The fault strikes once this much of the image has gone to the store (40%). */
const FAULT_AT = 26 * MiB;

describe.skipIf(!ceph)('s3 store when radosgw stops or dies mid-add', () => {
  const bucket = `glance-pf-${randomUUID().slice(0, 8)}`;
  const conf = () =>
    `[DEFAULT]\nenabled_backends = objects:s3\n[glance_store]\ndefault_backend = objects\n[objects]\ns3_store_host = ${ceph!['RGW_ENDPOINT']}\ns3_store_access_key = ${ceph!['RGW_ACCESS_KEY']}\ns3_store_secret_key = ${ceph!['RGW_SECRET_KEY']}\ns3_store_bucket = ${bucket}\ns3_store_create_bucket_on_put = true\ns3_store_large_object_size = 5\ns3_store_large_object_chunk_size = 5\ns3_store_thread_pools = 4\n`;
  let ms: MultiStore;
  let s3: S3Client;

  beforeAll(async () => {
    ms = await MultiStore.create(parseConfig(conf()), { reclaim: { firstPauseMs: 200, maxPauseMs: 1_000 } });
    s3 = rgwClient(ceph!);
    // The bucket exists, and the store has learnt that radosgw honours conditional writes.
    const r = await ms.add(randomUUID(), randomBytes(1000));
    await ms.delete(r.location);
  });
  afterAll(async () => {
    await ms?.close();
    await s3?.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    s3?.destroy();
  });

  /** Objects and open multipart uploads in the bucket. */
  async function stored(): Promise<string[]> {
    const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    return [...(objects.Contents ?? []).map((o) => `object ${o.Key} (${o.Size} bytes)`), ...(uploads.Uploads ?? []).map((u) => `upload ${u.Key} ${u.UploadId}`)];
  }

  /** Waits until the reclaimer has nothing pending and the bucket holds nothing; fails with what is left. */
  async function nothingLeft(boundMs = 90_000): Promise<void> {
    const deadline = Date.now() + boundMs;
    for (;;) {
      const pending = ms.pendingCleanups();
      const left = pending.length ? [] : await stored();
      if (!pending.length && !left.length) return;
      if (Date.now() > deadline) {
        expect({ pending: pending.map((p) => `${p.kind} ${p.location}: ${p.lastError}`), left }).toEqual({ pending: [], left: [] });
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** The image in 1 MiB pieces; `fault` runs once FAULT_AT bytes have been handed over. */
  async function* image(bytes: Buffer, fault: () => Promise<void>): AsyncIterable<Uint8Array> {
    for (let at = 0; at < bytes.length; at += MiB) {
      if (at === FAULT_AT) await fault();
      yield bytes.subarray(at, at + MiB);
    }
  }

  async function readBack(location: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of (await ms.get(location)).stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  it('an add aborted while radosgw is stopped settles as Aborted within 3 s and leaves nothing once radosgw continues', async () => {
    const id = randomUUID();
    const ac = new AbortController();
    let abortedAt = 0;
    await withFault(radosgw, async () => {
      const adding = ms.add(id, image(randomBytes(IMAGE_BYTES), async () => {
        await pause(radosgw);
        setTimeout(() => {
          abortedAt = Date.now();
          ac.abort();
        }, 500);
      }), { size: IMAGE_BYTES, signal: ac.signal });
      const err = (await adding.catch((e: unknown) => e)) as { code?: string; message?: string };
      const settledMs = Date.now() - abortedAt;
      expect(err).toMatchObject({ code: 'Aborted' });
      expect(abortedAt).toBeGreaterThan(0);
      expect(settledMs).toBeLessThan(3_000);
      await resume(radosgw);
    });
    await nothingLeft();
    await expect(ms.getSize(`s3://${ceph!['RGW_ACCESS_KEY']}:${ceph!['RGW_SECRET_KEY']}@${new URL(ceph!['RGW_ENDPOINT']!).host}/${bucket}/${id}`)).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('an add during which radosgw is killed fails with BackendUnavailable; after the restart nothing is left, the id adds again and its location never reads as an empty image', async () => {
    const id = randomUUID();
    const location = `s3://${ceph!['RGW_ACCESS_KEY']}:${ceph!['RGW_SECRET_KEY']}@${new URL(ceph!['RGW_ENDPOINT']!).host}/${bucket}/${id}`;
    await withFault(radosgw, async () => {
      const err = (await ms.add(id, image(randomBytes(IMAGE_BYTES), () => kill(radosgw)), { size: IMAGE_BYTES }).catch((e: unknown) => e)) as { code?: string; message?: string };
      expect(err).toMatchObject({ code: 'BackendUnavailable' });
      expect(err.message).not.toContain(ceph!['RGW_SECRET_KEY']);
      // What the add left waits for radosgw.
      expect(ms.pendingCleanups().map((p) => p.kind)).toEqual([expect.stringMatching(/claim/)]);
      await restart(radosgw);
    });
    // Whether or not the reclaimer has been through yet, the location is no image.
    const early = await ms.get(location).then(
      (got) => `an image of ${got.size} bytes`,
      (e: unknown) => e,
    );
    expect(early).toMatchObject({ code: 'NotFound' });
    await nothingLeft();
    await expect(ms.get(location)).rejects.toMatchObject({ code: 'NotFound' });
    // The same MultiStore adds the same id again.
    const bytes = randomBytes(IMAGE_BYTES);
    const r = await ms.add(id, bytes);
    expect(r.location).toBe(location);
    expect((await readBack(r.location)).equals(bytes)).toBe(true);
    await ms.delete(r.location);
    expect(await stored()).toEqual([]);
  });
});
