import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { S3Client, ListObjectsV2Command, ListMultipartUploadsCommand, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { MultiStore, maskLocation, parseConfig, type Logger } from '../src/index.js';
import { formatS3Location, parseS3Location } from '../src/drivers/s3/location.js';
import { runStoreConformance } from '../src/testing/index.js';
import { serviceEnv } from './services/env.js';
import { swiftContainerListing } from './services/swift-api.js';
import { referenceAvailable, roundTripWithReference } from './interop/reference.js';

/** An S3 server the tests run against: Ceph's radosgw and Swift's s3api middleware, where each is up. */
interface S3Server {
  name: string;
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  /** Swift's s3api keeps multipart parts in a `<bucket>+segments` container: listed too, so leftovers show. */
  swift?: { authUrl: string; user: string; key: string };
  /** Swift's s3api refuses conditional writes: adds of one id at once are not serialised (docs/s3.md). */
  concurrentAdds?: 'unserialised';
}

const ceph = serviceEnv('ceph');
const swift = serviceEnv('swift');
const servers: S3Server[] = [];
if (ceph) {
  servers.push({ name: 'Ceph RGW', endpoint: ceph['RGW_ENDPOINT']!, accessKey: ceph['RGW_ACCESS_KEY']!, secretKey: ceph['RGW_SECRET_KEY']!, bucket: `glance-${randomUUID().slice(0, 8)}` });
}
if (swift) {
  servers.push({
    name: 'Swift s3api',
    endpoint: swift['S3_ENDPOINT']!,
    accessKey: swift['S3_ACCESS_KEY']!,
    secretKey: swift['S3_SECRET_KEY']!,
    bucket: `glance-${randomUUID().slice(0, 8)}`,
    swift: { authUrl: swift['SWIFT_AUTH_URL']!, user: swift['SWIFT_USER']!, key: swift['SWIFT_KEY']! },
    concurrentAdds: 'unserialised',
  });
}
const rgw = servers.find((s) => s.name === 'Ceph RGW');

function storeSection(id: string, server: S3Server, bucket: string): string {
  return `[${id}]\ns3_store_host = ${server.endpoint}\ns3_store_access_key = ${server.accessKey}\ns3_store_secret_key = ${server.secretKey}\ns3_store_bucket = ${bucket}\ns3_store_create_bucket_on_put = true\ns3_store_large_object_size = 5\ns3_store_large_object_chunk_size = 5\ns3_store_thread_pools = 4\n`;
}

function conf(server: S3Server, extra = ''): string {
  return `[DEFAULT]\nenabled_backends = objects:s3\n[glance_store]\ndefault_backend = objects\n${storeSection('objects', server, server.bucket)}${extra}`;
}

/** Two stores on the server, in two buckets: `objects` and `copies`. */
function twoStoresConf(server: S3Server): string {
  return `[DEFAULT]\nenabled_backends = objects:s3, copies:s3\n[glance_store]\ndefault_backend = objects\n${storeSection('objects', server, server.bucket)}${storeSection('copies', server, `${server.bucket}-copies`)}`;
}

function admin(server: S3Server): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    // The SDK's advice about stream bodies is for its users, not the tests' output.
    logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
}

/** Objects, pending multipart uploads and (on Swift) stored parts in the buckets: what a failed add must not leave. */
async function listStored(server: S3Server, buckets = [server.bucket]): Promise<string[]> {
  const s3 = admin(server);
  try {
    const listed = await Promise.all(
      buckets.map(async (bucket) => {
        const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucket })).catch((e: { name?: string }) => {
          if (e.name === 'NoSuchBucket') return { Contents: [] };
          throw e;
        });
        const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket })).catch(() => ({ Uploads: [] }));
        const parts = server.swift ? await swiftContainerListing(server.swift, `${bucket}+segments`) : [];
        return [
          ...(objects.Contents ?? []).map((o) => `object:${bucket}/${o.Key}`),
          ...(uploads.Uploads ?? []).map((u) => `upload:${bucket}/${u.Key}:${u.UploadId}`),
          ...parts.map((p) => `part:${bucket}/${p}`),
        ];
      }),
    );
    return listed.flat();
  } finally {
    s3.destroy();
  }
}

describe('s3 locations', () => {
  it('are written and parsed as glance_store writes them', () => {
    const loc = { scheme: 's3+https' as const, accessKey: 'AK', secretKey: 'se/cr+et', host: 's3.example.com:8443', bucket: 'images', key: 'abc' };
    expect(formatS3Location(loc)).toBe('s3+https://AK:se/cr+et@s3.example.com:8443/images/abc');
    expect(parseS3Location('s3+https://AK:se/cr+et@s3.example.com:8443/images/abc')).toEqual(loc);
    expect(parseS3Location('s3://host.example/bucket/key')).toEqual({ scheme: 's3', accessKey: undefined, secretKey: undefined, host: 'host.example', bucket: 'bucket', key: 'key' });
    expect(() => parseS3Location('s3://AK:SECRET@https://host/bucket/key')).toThrow(/s3\+https/);
    expect(() => parseS3Location('s3://AK:SECRET@bucket/key')).toThrow(/host\/bucket\/key/);
    expect(() => parseS3Location('s3://AK:SECRET@host/bucket/key')).not.toThrow();
    // Swift s3api access keys are account:user.
    expect(parseS3Location('s3://test:tester:se/cret@127.0.0.1:8080/b/k')).toMatchObject({ accessKey: 'test:tester', secretKey: 'se/cret' });
    let thrown: unknown;
    try {
      parseS3Location('s3://AK:TOPSECRET@x');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ code: 'BadStoreUri' });
    expect((thrown as Error).message).not.toContain('TOPSECRET');
  });
});

for (const server of servers) {
  runStoreConformance(
    { describe, it, beforeAll, afterAll },
    {
      name: `s3 (${server.name})`,
      storeId: 'objects',
      secondStoreId: 'copies',
      create: (opts) => MultiStore.create(parseConfig(twoStoresConf(server)), opts),
      listStored: () => listStored(server, [server.bucket, `${server.bucket}-copies`]),
      largeImageBytes: 11 * 1024 * 1024 + 7,
      ...(server.concurrentAdds ? { concurrentAdds: server.concurrentAdds } : {}),
      // 4 parts of 5 MiB in flight, plus part buffers already sent that V8 frees only
      // after some 64 MiB of such allocations: bounded, and far below the 256 MiB image.
      streaming: { imageBytes: 256 * 1024 * 1024, maxGrowthBytes: 112 * 1024 * 1024 },
      timeout: 120_000,
      faults: {
        target: { host: new URL(server.endpoint).hostname, port: Number(new URL(server.endpoint).port) },
        create: (proxy, opts) => MultiStore.create(parseConfig(twoStoresConf({ ...server, endpoint: `http://${proxy.host}:${proxy.port}` })), opts),
      },
    },
  );
}

for (const server of servers) describe(`s3 store on ${server.name}`, () => {
  let ms: MultiStore;
  beforeAll(async () => {
    ms = await MultiStore.create(parseConfig(conf(server)));
  });
  afterAll(() => ms?.close());

  it('writes glance_store locations and never shows the secret key', async () => {
    const id = randomUUID();
    const r = await ms.add(id, randomBytes(1000));
    const host = new URL(server.endpoint).host;
    expect(r.location).toBe(`s3://${server.accessKey}:${server.secretKey}@${host}/${server.bucket}/${id}`);
    const text = JSON.stringify(ms.infoDetail()) + JSON.stringify(ms.states());
    expect(text).not.toContain(server.secretKey);
    const err = (await ms.add(id, randomBytes(10)).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: 'Duplicate' });
    const missing = (await ms.get(r.location.replace(id, 'missing-image')).catch((e: unknown) => e)) as Error;
    expect(missing).toMatchObject({ code: 'NotFound' });
    expect(missing.message).not.toContain(server.secretKey);
    await ms.delete(r.location);
  });

  it('reads a location whose secret is masked with the store\'s secret for that access key only', async () => {
    const r = await ms.add(randomUUID(), randomBytes(500));
    const masked = maskLocation(r.location);
    expect(masked).toContain(':***@');
    expect(await ms.getSize(masked)).toBe(500);
    await expect(ms.getSize(masked.replace(`//${server.accessKey}:`, '//SOMEONEELSE:'))).rejects.toMatchObject({ code: 'BadStoreUri' });
    await ms.delete(masked);
  });

  it('gives a clear error for a missing bucket when it may not create one', async () => {
    const strict = await MultiStore.create(parseConfig(conf(server).replace(`s3_store_bucket = ${server.bucket}`, 's3_store_bucket = no-such-bucket-here').replace('s3_store_create_bucket_on_put = true', 's3_store_create_bucket_on_put = false')));
    await expect(strict.add(randomUUID(), randomBytes(10))).rejects.toThrow(/bucket no-such-bucket-here .*does not exist.*s3_store_create_bucket_on_put/);
    await strict.close();
  });

  it('maps refused credentials to AuthenticationFailed without showing them', async () => {
    const wrong = await MultiStore.create(parseConfig(conf(server).replace(`s3_store_secret_key = ${server.secretKey}`, 's3_store_secret_key = wrong-secret-value')));
    const err = (await wrong.add(randomUUID(), randomBytes(10)).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: 'AuthenticationFailed' });
    expect(err.message).not.toContain('wrong-secret-value');
    await wrong.close();
  });
});

/** Every line the stores log, with its level and fields. */
function recordingLogger(): Logger & { records: { level: string; obj: unknown; msg: string }[] } {
  const records: { level: string; obj: unknown; msg: string }[] = [];
  const at = (level: string) => (obj: unknown, msg?: string) => void records.push({ level, obj, msg: msg ?? String(obj) });
  return { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

for (const server of servers) describe(`s3 store on ${server.name}: what the SDK reports`, () => {
  it('is logged with its error name, code and status, an expected 404 at debug, never at error level, never as [object Object]', async () => {
    const logger = recordingLogger();
    const ms = await MultiStore.create(parseConfig(conf(server)), { logger });
    try {
      const r = await ms.add(randomUUID(), randomBytes(1000));
      // The existence check of every add answers 404: expected, so debug.
      const head404 = logger.records.find((l) => /HeadObject failed/.test(l.msg));
      expect(head404).toMatchObject({ level: 'debug', obj: { store: 'objects', command: 'HeadObject', err: { name: 'NotFound', status: 404 } } });
      await ms.delete(r.location);
      const wrong = await MultiStore.create(parseConfig(conf(server).replace(`s3_store_secret_key = ${server.secretKey}`, 's3_store_secret_key = wrong-secret-value')), { logger });
      await expect(wrong.add(randomUUID(), randomBytes(10))).rejects.toMatchObject({ code: 'AuthenticationFailed' });
      await wrong.close();
      // A refused signature is not expected: a warning, with what the server said.
      const refused = logger.records.find((l) => l.level === 'warn' && /failed: .*HTTP 403/.test(l.msg));
      expect(refused, JSON.stringify(logger.records.map((l) => `${l.level} ${l.msg}`))).toBeDefined();
      // A HEAD's answer has no body: the SDK can name the error only from an answer that has one.
      expect(refused!.obj).toMatchObject({ store: 'objects', err: { name: expect.any(String), status: 403 } });
    } finally {
      await ms.close();
    }
    const text = JSON.stringify(logger.records);
    expect(text).not.toContain('[object Object]');
    expect(text).not.toContain('wrong-secret-value');
    expect(text).not.toContain(server.secretKey);
    expect(logger.records.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([]);
  });
});

describe.skipIf(!rgw)('s3 claims on Ceph RGW', () => {
  let ms: MultiStore;
  let s3: S3Client;
  beforeAll(async () => {
    ms = await MultiStore.create(parseConfig(conf(rgw!)));
    s3 = admin(rgw!);
    await s3.send(new CreateBucketCommand({ Bucket: rgw!.bucket })).catch(() => undefined);
  });
  afterAll(async () => {
    s3?.destroy();
    await ms?.close();
  });

  const locationOf = (id: string) => `s3://${rgw!.accessKey}:${rgw!.secretKey}@${new URL(rgw!.endpoint).host}/${rgw!.bucket}/${id}`;
  /** The claim an add that died left at `id`'s key, written `ageMs` ago (as claim.ts writes one). */
  const leaveClaim = (id: string, ageMs: number, kind = 'multipart') =>
    s3.send(new PutObjectCommand({ Bucket: rgw!.bucket, Key: id, Body: `glance-store claim ${randomUUID()}\n`, Metadata: { 'glance-store-claim': `${kind} ${new Date(Date.now() - ageMs).toISOString()}` } }));

  it('a claim at an image key is never read as an image: get, size and delete give NotFound', async () => {
    const id = randomUUID();
    await leaveClaim(id, 0);
    for (const call of [() => ms.get(locationOf(id)), () => ms.getSize(locationOf(id)), () => ms.delete(locationOf(id))]) {
      const err = (await call().catch((e: unknown) => e)) as Error;
      expect(err).toMatchObject({ code: 'NotFound' });
      expect(err.message).toMatch(/claim of an add that has not finished or failed/);
      expect(err.message).not.toContain(rgw!.secretKey);
    }
    // A live claim (an add of the id running now) still makes another add Duplicate.
    await expect(ms.add(id, randomBytes(100))).rejects.toMatchObject({ code: 'Duplicate' });
    await s3.send(new PutObjectCommand({ Bucket: rgw!.bucket, Key: id, Body: '' }));
    // An empty object without the mark (as glance_store writes a 0-byte image) is an image.
    expect(await ms.getSize(locationOf(id))).toBe(0);
    expect((await readBack(ms, locationOf(id))).length).toBe(0);
    await ms.delete(locationOf(id));
  });

  it('the claim a dead add left does not make a retry of the id Duplicate: it is taken over, single PUT and multipart', async () => {
    for (const bytes of [randomBytes(2000), randomBytes(6 * 1024 * 1024 + 3)]) {
      const id = randomUUID();
      // A multipart claim with no upload open two minutes on; a single-PUT claim an hour old.
      await leaveClaim(id, bytes.length > 5 * 1024 * 1024 ? 120_000 : 3_600_000, bytes.length > 5 * 1024 * 1024 ? 'multipart' : 'put');
      const r = await ms.add(id, bytes);
      expect(r.location).toBe(locationOf(id));
      expect((await readBack(ms, r.location)).equals(bytes)).toBe(true);
      await ms.delete(r.location);
    }
    expect((await listStored(rgw!)).filter((l) => !l.includes('-copies'))).toEqual([]);
  });

  it('of two adds that find the same dead claim at once, exactly one wins', async () => {
    for (const size of [2000, 6 * 1024 * 1024 + 3]) {
      const id = randomUUID();
      await leaveClaim(id, 3_600_000, size > 5 * 1024 * 1024 ? 'multipart' : 'put');
      const [a, b] = [randomBytes(size), randomBytes(size)];
      const outcomes = await Promise.allSettled([ms.add(id, a), ms.add(id, b)]);
      const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [{ i, location: o.value.location }] : []));
      const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as { code?: string }] : []));
      expect(won).toHaveLength(1);
      expect(lost.map((e) => e.code)).toEqual(['Duplicate']);
      expect((await readBack(ms, won[0]!.location)).equals(won[0]!.i === 0 ? a : b)).toBe(true);
      await ms.delete(won[0]!.location);
    }
    expect((await listStored(rgw!)).filter((l) => !l.includes('-copies'))).toEqual([]);
  });
});

async function readBack(ms: MultiStore, location: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of (await ms.get(location)).stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const pythonS3 = rgw && (await referenceAvailable());
describe.skipIf(!pythonS3)('s3 interoperability with Python glance_store', () => {
  it('reads and deletes single and multipart images written by glance_store, and back', async () => {
    // glance_store does not create buckets.
    await admin(rgw!).send(new CreateBucketCommand({ Bucket: rgw!.bucket })).catch(() => undefined);
    await roundTripWithReference({ conf: conf(rgw!), storeId: 'objects', sizes: [100_000, 12 * 1024 * 1024 + 1] });
  });
});

/** A TLS front (a throw-away certificate for 127.0.0.1) that forwards every connection to the server's plain http endpoint. */
async function tlsFront(server: S3Server): Promise<{ url: string; certFile: string; close: () => Promise<void> }> {
  const { createServer } = await import('node:tls');
  const { connect } = await import('node:net');
  const { selfSignedCertificate } = await import('./tls.js');
  const cert = selfSignedCertificate();
  const target = new URL(server.endpoint);
  const front = createServer({ key: cert.key, cert: cert.cert }, (socket) => {
    const upstream = connect(Number(target.port), target.hostname);
    socket.pipe(upstream).pipe(socket);
    const end = () => (socket.destroy(), upstream.destroy());
    socket.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const port = (front.address() as { port: number }).port;
  return { url: `https://127.0.0.1:${port}`, certFile: cert.certFile, close: () => new Promise((resolve) => front.close(() => resolve())) };
}

for (const server of servers) describe(`s3 store on ${server.name}: glance_store 4.9-5.4 options`, () => {
  it('s3_store_large_object_size = 0 sends every image through the multipart path, a 0-byte one too, and leaves nothing', async () => {
    const bucket = `${server.bucket}-zero`;
    const text = `[DEFAULT]\nenabled_backends = objects:s3\n[glance_store]\ndefault_backend = objects\n${storeSection('objects', server, bucket).replace('s3_store_large_object_size = 5', 's3_store_large_object_size = 0')}`;
    const ms = await MultiStore.create(parseConfig(text));
    try {
      for (const size of [0, undefined]) {
        const r = await ms.add(randomUUID(), Buffer.alloc(0), size === undefined ? {} : { size });
        expect(r.size).toBe(0);
        expect(r.checksum).toBe('d41d8cd98f00b204e9800998ecf8427e');
        const got = await ms.get(r.location);
        const chunks: Buffer[] = [];
        for await (const c of got.stream) chunks.push(Buffer.from(c as Uint8Array));
        expect(Buffer.concat(chunks).length).toBe(0);
        expect(await ms.getSize(r.location)).toBe(0);
        await ms.delete(r.location);
      }
      // Larger than one part: a real multipart upload (its ETag says how many parts), even though the size is known and small.
      const bytes = randomBytes(6 * 1024 * 1024 + 3);
      const r = await ms.add(randomUUID(), bytes, { size: bytes.length });
      const chunks: Buffer[] = [];
      for await (const c of (await ms.get(r.location)).stream) chunks.push(Buffer.from(c as Uint8Array));
      expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
      const s3 = admin(server);
      const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: parseS3Location(r.location).key }));
      s3.destroy();
      expect(head.ETag).toMatch(/-2"?$/);
      await ms.delete(r.location);
      expect(await listStored(server, [bucket])).toEqual([]);
    } finally {
      await ms.close();
    }
  }, 120_000);

  it('maps the data integrity options onto the SDK: off by default; on, what the server accepts round-trips', async () => {
    const plain = await MultiStore.create(parseConfig(conf(server)));
    expect(plain.infoDetail()[0]!.properties['checksums']).toEqual({ requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    await plain.close();
    // Turned on with when_required (the defaults of the two options): what every server accepts.
    const on = (request: string, response: string) =>
      conf(server).replace('[objects]\n', `[objects]\ns3_store_enable_data_integrity_protection = true\ns3_store_request_checksum_calculation = ${request}\ns3_store_response_checksum_validation = ${response}\n`);
    // With a CRC32 sent with every upload, a small image goes up through lib-storage as a buffer too (a streamed
    // PUT would carry the checksum in a trailer without Content-Length, which both servers refuse: docs/s3.md).
    const trailer = { single: 'works', multipart: 'works' };
    const cases: [string, string, { single: string; multipart: string }][] = [
      ['when_required', 'when_required', { single: 'works', multipart: 'works' }],
      ['when_required', 'when_supported', { single: 'works', multipart: 'works' }],
      ['when_supported', 'when_supported', trailer],
    ];
    for (const [request, response, expected] of cases) {
      const ms = await MultiStore.create(parseConfig(on(request, response)));
      try {
        const upper = (v: string) => v.toUpperCase();
        expect(ms.infoDetail()[0]!.properties['checksums']).toEqual({ requestChecksumCalculation: upper(request), responseChecksumValidation: upper(response) });
        const found: Record<string, string> = {};
        for (const [kind, size] of [['single', 100_000], ['multipart', 11 * 1024 * 1024 + 5]] as const) {
          const bytes = randomBytes(size);
          const r = await ms.add(randomUUID(), bytes, { size }).catch((e: { code?: string }) => e);
          if (!('location' in r)) {
            found[kind] = 'refused';
            expect(r.code, `how ${server.name} refuses a ${kind} upload`).toMatch(/^(BackendUnavailable|BadStoreConfiguration|StorageWriteDenied|Forbidden)$|Error$/);
            continue;
          }
          const chunks: Buffer[] = [];
          for await (const c of (await ms.get(r.location)).stream) chunks.push(Buffer.from(c as Uint8Array));
          found[kind] = Buffer.concat(chunks).equals(bytes) ? 'works' : 'corrupt';
          await ms.delete(r.location);
        }
        expect(found, `${request}/${response} on ${server.name}`).toEqual(expected);
      } finally {
        await ms.close();
      }
    }
    expect(await listStored(server)).toEqual([]);
  }, 180_000);

  it('s3_store_cacert verifies an https endpoint (a TLS front of the server); without it the certificate is refused', async () => {
    const front = await tlsFront(server);
    try {
      const https = (extra: string) => conf({ ...server, endpoint: front.url }).replace('[objects]\n', `[objects]\n${extra}`);
      const ms = await MultiStore.create(parseConfig(https(`s3_store_cacert = ${front.certFile}\n`)));
      try {
        const bytes = randomBytes(50_000);
        const r = await ms.add(randomUUID(), bytes);
        expect(r.location.startsWith(`s3+https://${server.accessKey}:`)).toBe(true);
        expect(await ms.getSize(r.location)).toBe(bytes.length);
        await ms.delete(r.location);
      } finally {
        await ms.close();
      }
      const untrusted = await MultiStore.create(parseConfig(https('')));
      try {
        await expect(untrusted.add(randomUUID(), randomBytes(10))).rejects.toMatchObject({ code: 'BackendUnavailable', message: expect.stringMatching(/s3_store_cacert/) });
      } finally {
        await untrusted.close();
      }
    } finally {
      await front.close();
    }
  }, 60_000);
});
