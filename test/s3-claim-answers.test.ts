/**
 * An add's claim (src/drivers/s3/claim.ts) is a conditional PUT, and its answer can mislead:
 * RGW answers the loser of a conditional race with 500 (ECANCELED) where S3 gives 412, and a
 * lost connection makes the SDK send the PUT again, to be refused 412 by the claim its first
 * attempt wrote. An answering front between the store and the real RGW forwards every request
 * and replaces the answers to the claim PUTs, so each case happens every time: the add must
 * judge by what the key holds, never by the answer alone.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import http from 'node:http';
import { inspect } from 'node:util';
import { randomBytes, randomUUID } from 'node:crypto';
import { S3Client, CreateBucketCommand, DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command, ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { MultiStore, parseConfig } from '../src/index.js';
import { serviceEnv } from './services/env.js';
import { rgwClient } from './services/rgw-api.js';

const ceph = serviceEnv('ceph');
const bucket = `glance-answers-${randomUUID().slice(0, 8)}`;

/** What the front does with a claim PUT: forward it and answer 500 whatever RGW said, or first let `before` run. */
interface ClaimAnswers {
  before?: (key: string) => Promise<void>;
  /** false: answer 500 without passing the PUT on, so nothing is written. */
  forward?: boolean;
}

/** An HTTP front of RGW that answers every claim PUT (If-None-Match or If-Match, with the claim mark) with 500. */
async function claimFront(target: string, answers: ClaimAnswers): Promise<{ url: string; claimPuts: () => number; close: () => Promise<void> }> {
  const upstream = new URL(target);
  let claimPuts = 0;
  const server = http.createServer((req, res) => {
    const isClaim = req.method === 'PUT' && req.headers['x-amz-meta-glance-store-claim'] !== undefined && (req.headers['if-none-match'] || req.headers['if-match']);
    const key = decodeURIComponent(new URL(req.url!, 'http://x').pathname.split('/').pop()!);
    void (async () => {
      if (isClaim) {
        claimPuts += 1;
        await answers.before?.(key);
      }
      if (isClaim && answers.forward === false) {
        req.resume();
        return void req.on('end', () => res.writeHead(500, { 'content-type': 'application/xml' }).end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>UnknownError</Code></Error>'));
      }
      // The Host header is forwarded as sent: the request's signature covers it.
      const forwarded = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        if (!isClaim) {
          res.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(res);
          return;
        }
        answer.resume();
        answer.on('end', () => {
          res.writeHead(500, { 'content-type': 'application/xml' });
          res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>UnknownError</Code></Error>');
        });
      });
      forwarded.on('error', () => res.destroy());
      req.pipe(forwarded);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    claimPuts: () => claimPuts,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

describe.skipIf(!ceph)('s3 claims whose answers mislead (Ceph RGW behind an answering front)', () => {
  let s3: S3Client;
  const config = (endpoint: string) =>
    parseConfig(
      `[DEFAULT]\nenabled_backends = objects:s3\n[glance_store]\ndefault_backend = objects\n[objects]\ns3_store_host = ${endpoint}\ns3_store_access_key = ${ceph!['RGW_ACCESS_KEY']}\ns3_store_secret_key = ${ceph!['RGW_SECRET_KEY']}\ns3_store_bucket = ${bucket}\ns3_store_large_object_size = 5\ns3_store_large_object_chunk_size = 5\n`,
    );
  /** Objects and open uploads in the bucket. */
  const stored = async () => [
    ...((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!),
    ...((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).map((u) => `upload ${u.Key}`),
  ];
  beforeAll(async () => {
    s3 = rgwClient(ceph!);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(() => s3?.destroy());

  it('a claim the key holds is this add\'s, whatever the answer: the add goes on and stores its bytes, single PUT and multipart', async () => {
    const front = await claimFront(ceph!['RGW_ENDPOINT']!, {});
    const ms = await MultiStore.create(config(front.url));
    try {
      for (const size of [3000, 6 * 1024 * 1024 + 1]) {
        const id = randomUUID();
        // A dead add's claim makes even a single PUT take the key over through a claim of its own.
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: id, Body: 'glance-store claim dead\n', Metadata: { 'glance-store-claim': `put ${new Date(Date.now() - 3_600_000).toISOString()}` } }));
        const before = front.claimPuts();
        const bytes = randomBytes(size);
        const r = await ms.add(id, bytes);
        expect(front.claimPuts()).toBeGreaterThan(before);
        const chunks: Buffer[] = [];
        for await (const c of (await ms.get(r.location)).stream) chunks.push(c as Buffer);
        expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
        await ms.delete(r.location);
      }
      expect(await stored()).toEqual([]);
    } finally {
      await ms.close();
      await front.close();
    }
  });

  it('a key that holds another add\'s claim after a 500 makes this add Duplicate, and that claim stays untouched', async () => {
    const foreign = { Body: 'glance-store claim of another add\n', Metadata: { 'glance-store-claim': `multipart ${new Date().toISOString()}` } };
    // Another add writes its claim just before this one's PUT reaches RGW (which then answers 412, turned into 500).
    const front = await claimFront(ceph!['RGW_ENDPOINT']!, { before: async (key) => void (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, ...foreign }))) });
    const ms = await MultiStore.create(config(front.url));
    const id = randomUUID();
    try {
      await expect(ms.add(id, randomBytes(6 * 1024 * 1024 + 1))).rejects.toMatchObject({ code: 'Duplicate' });
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: id }));
      expect(head.Metadata?.['glance-store-claim']).toBe(foreign.Metadata['glance-store-claim']);
      expect(head.ContentLength).toBe(foreign.Body.length);
      expect(await stored()).toEqual([id]);
    } finally {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: id }));
      await ms.close();
      await front.close();
    }
  });

  it('a claim that was never written keeps the server\'s error, BackendUnavailable, whose cause holds no signed request', async () => {
    const front = await claimFront(ceph!['RGW_ENDPOINT']!, { forward: false });
    const ms = await MultiStore.create(config(front.url));
    try {
      const err = (await ms.add(randomUUID(), randomBytes(1000)).catch((e: unknown) => e)) as Error;
      expect(err).toMatchObject({ code: 'BackendUnavailable' });
      expect(err.message).toMatch(/HTTP 500/);
      // A service that logs the error and its causes must not print the request the SDK signed.
      const printed = inspect(err, { depth: 30, showHidden: true });
      expect(printed).toContain('httpStatusCode: 500');
      expect(printed).not.toMatch(/Signature=|authorization|x-amz-date/i);
      expect(printed).not.toContain(ceph!['RGW_SECRET_KEY']!);
      expect(await stored()).toEqual([]);
    } finally {
      await ms.close();
      await front.close();
    }
  });
});
