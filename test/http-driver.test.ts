import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { MultiStore, parseConfig } from '../src/index.js';
import { runReadOnlyConformance, readAll } from '../src/testing/index.js';
import { selfSignedCertificate } from './tls.js';

/**
 * A real HTTP server on 127.0.0.1 serving images from memory, with the
 * behaviours the driver must cope with: Range (or not), redirects, errors,
 * truncated bodies, Basic auth, servers that refuse HEAD.
 */
const images = new Map<string, Buffer>();
const seenAuth: string[] = [];
let proxied = 0;

function serve(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const [, kind, ...rest] = url.pathname.split('/');
  const name = rest.join('/');
  if (kind === 'redirect') {
    const n = Number(rest[0]);
    res.writeHead(n % 2 ? 302 : 307, { location: n > 1 ? `/redirect/${n - 1}/${rest.slice(1).join('/')}` : `/img/${rest.slice(1).join('/')}` });
    return void res.end();
  }
  if (kind === 'to-ftp') {
    res.writeHead(301, { location: 'ftp://127.0.0.1/x' });
    return void res.end();
  }
  if (kind === 'stall') return; // never answers
  if (kind === 'error') {
    res.writeHead(500);
    return void res.end('boom');
  }
  if (kind === 'auth') {
    seenAuth.push(req.headers.authorization ?? '');
    if (req.headers.authorization !== `Basic ${Buffer.from('glance:s3cr3t-pw').toString('base64')}`) {
      res.writeHead(401);
      return void res.end();
    }
  }
  const body = images.get(name);
  if (!body) {
    res.writeHead(404);
    return void res.end('not here');
  }
  if (kind === 'truncated') {
    res.writeHead(200, { 'content-length': String(body.length) });
    res.write(body.subarray(0, Math.floor(body.length / 2)));
    return void res.socket?.destroy();
  }
  if (kind === 'nolength') {
    // Chunked, no Content-Length and no Range support: a server that never tells the size.
    res.writeHead(200);
    if (req.method !== 'HEAD') for (let i = 0; i < body.length; i += 65536) res.write(body.subarray(i, i + 65536));
    return void res.end();
  }
  if (kind === 'nohead' && req.method === 'HEAD') {
    res.writeHead(405);
    return void res.end();
  }
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (range && kind !== 'norange') {
    const start = Number(range[1]);
    const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` });
      return void res.end();
    }
    res.writeHead(206, { 'content-length': String(end - start + 1), 'content-range': `bytes ${start}-${end}/${body.length}` });
    return void res.end(req.method === 'HEAD' ? undefined : body.subarray(start, end + 1));
  }
  res.writeHead(200, { 'content-length': String(body.length), 'content-encoding': kind === 'gzipped' ? 'gzip' : 'identity' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

let server: http.Server;
let base: string;
let tlsServer: https.Server;
let tlsBase: string;
let proxy: http.Server;
let proxyUrl: string;
let certDir: string;

async function listen(s: http.Server | https.Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

beforeAll(async () => {
  server = http.createServer(serve);
  base = `http://127.0.0.1:${await listen(server)}`;
  const tls = selfSignedCertificate();
  certDir = tls.dir;
  tlsServer = https.createServer({ key: tls.key, cert: tls.cert }, serve);
  tlsBase = `https://127.0.0.1:${await listen(tlsServer)}`;
  // A forward proxy: absolute-URI requests are relayed to the origin.
  proxy = http.createServer((req, res) => {
    proxied++;
    const target = new URL(req.url!);
    const up = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  proxyUrl = `http://127.0.0.1:${await listen(proxy)}`;
});

afterAll(async () => {
  for (const s of [server, tlsServer, proxy]) await new Promise((r) => s?.close(r));
  rmSync(certDir, { recursive: true, force: true });
});

const webConf = (extra = '') => `[DEFAULT]\nenabled_backends = web:http, shared:file\n[glance_store]\ndefault_backend = shared\n[shared]\nfilesystem_store_datadir = ${tmpdir()}/gs-http-shared\n[web]\nstore_description = Images on the web\n${extra}`;

function seed(bytes: Buffer): string {
  const name = `${randomUUID()}.img`;
  images.set(name, bytes);
  return name;
}

runReadOnlyConformance(
  { describe, it, beforeAll, afterAll },
  {
    name: 'http',
    storeId: 'web',
    create: (opts) => MultiStore.create(parseConfig(webConf()), opts),
    seed: async (_id, bytes) => `${base}/img/${seed(bytes)}`,
    seedOfUnknownSize: async (_id, bytes) => `${base}/nolength/${seed(bytes)}`,
    copyTarget: 'shared',
    missingLocation: () => `${base}/img/missing-${randomUUID()}`,
    faults: {
      // Read when the fault cases start, once the server listens.
      get target() {
        const { hostname, port } = new URL(base);
        return { host: hostname, port: Number(port) };
      },
      create: (_proxy, opts) => MultiStore.create(parseConfig(webConf()), opts),
      seed: async (_id, bytes, proxy) => `http://${proxy.host}:${proxy.port}/img/${seed(bytes)}`,
    },
  },
);

describe('http store', () => {
  let ms: MultiStore;
  beforeAll(async () => {
    ms = await MultiStore.create(parseConfig(webConf()));
  });
  afterAll(() => ms.close());

  it('is listed read-only and refuses adds before reading data', async () => {
    expect(ms.info().find((s) => s.id === 'web')).toEqual({ id: 'web', description: 'Images on the web', 'read-only': true });
    let read = false;
    const source = (async function* () {
      read = true;
      yield Buffer.from('x');
    })();
    await expect(ms.add(randomUUID(), source, { store: 'web' })).rejects.toMatchObject({ code: 'ReadOnlyStore' });
    expect(read).toBe(false);
    expect(() => ms.writableStore('web')).toThrow(/read-only/);
  });

  it('serves a range from a server that ignores Range', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const name = seed(bytes);
    const got = await ms.get(`${base}/norange/${name}`, { offset: 1_000_000, length: 5000 });
    expect(got.size).toBe(5000);
    expect((await readAll(got.stream)).equals(bytes.subarray(1_000_000, 1_005_000))).toBe(true);
  });

  it('returns gzip-encoded bodies byte for byte, never decoded', async () => {
    const bytes = randomBytes(10_000);
    const got = await ms.get(`${base}/gzipped/${seed(bytes)}`);
    expect((await readAll(got.stream)).equals(bytes)).toBe(true);
  });

  it('falls back to GET for the size when HEAD is refused', async () => {
    const bytes = randomBytes(12_345);
    expect(await ms.getSize(`${base}/nohead/${seed(bytes)}`)).toBe(12_345);
  });

  it('follows up to 5 redirects, only to http(s)', async () => {
    const bytes = randomBytes(1000);
    const name = seed(bytes);
    const got = await ms.get(`${base}/redirect/5/${name}`);
    expect(createHash('md5').update(await readAll(got.stream)).digest('hex')).toBe(createHash('md5').update(bytes).digest('hex'));
    expect(await ms.getSize(`${base}/redirect/3/${name}`)).toBe(1000);
    await expect(ms.get(`${base}/redirect/6/${name}`)).rejects.toMatchObject({ code: 'BadStoreUri', message: expect.stringMatching(/exceeded 5 redirects/) });
    await expect(ms.get(`${base}/to-ftp/x`)).rejects.toMatchObject({ code: 'BadStoreUri', message: expect.stringMatching(/ftp URL/) });
  });

  it('maps HTTP errors and unreachable servers to error codes', async () => {
    await expect(ms.get(`${base}/error/x`)).rejects.toMatchObject({ code: 'BadStoreUri', message: expect.stringMatching(/HTTP 500/) });
    const closed = net.createServer();
    const port = await new Promise<number>((r) => closed.listen(0, '127.0.0.1', () => r((closed.address() as AddressInfo).port)));
    await new Promise((r) => closed.close(r));
    await expect(ms.get(`http://127.0.0.1:${port}/img/x`)).rejects.toMatchObject({ code: 'BackendUnavailable' });
  });

  it('gives Aborted for a call aborted or past its AbortSignal.timeout, never BackendUnavailable', async () => {
    await expect(ms.get(`${base}/stall/x`, { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({ code: 'Aborted', message: expect.stringMatching(/time limit/) });
    await expect(ms.getSize(`${base}/stall/x`, { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({ code: 'Aborted' });
    const bytes = randomBytes(4 * 1024 * 1024);
    const reading = new AbortController();
    const got = await ms.get(`${base}/img/${seed(bytes)}`, { signal: reading.signal });
    reading.abort();
    await expect(readAll(got.stream)).rejects.toMatchObject({ code: 'Aborted' });
  });

  it('errors the stream when the body is cut short, never returning a short image', async () => {
    const bytes = randomBytes(2 * 1024 * 1024);
    // The cut may come before or after the headers: either the get or the read must fail.
    const read = async () => readAll((await ms.get(`${base}/truncated/${seed(bytes)}`)).stream);
    await expect(read()).rejects.toMatchObject({ code: 'BackendUnavailable' });
  });

  it('sends credentials from the URI as Basic auth and never shows the password', async () => {
    const bytes = randomBytes(100);
    const name = seed(bytes);
    const got = await ms.get(`http://glance:s3cr3t-pw@127.0.0.1:${new URL(base).port}/auth/${name}`);
    expect((await readAll(got.stream)).equals(bytes)).toBe(true);
    expect(seenAuth.at(-1)).toMatch(/^Basic /);
    const err = (await ms.get(`http://glance:s3cr3t-pw@127.0.0.1:${new URL(base).port}/error/${name}`).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/\/error\//);
    expect(err.message).not.toContain('s3cr3t-pw');
    expect(JSON.stringify(ms.infoDetail())).not.toContain('s3cr3t');
  });

  it('verifies TLS by default, and trusts a given CA or https_insecure', async () => {
    const bytes = randomBytes(5000);
    const url = `${tlsBase}/img/${seed(bytes)}`;
    await expect(ms.get(url)).rejects.toMatchObject({ code: 'BadStoreUri', message: expect.stringMatching(/TLS verification/) });
    const withCa = await MultiStore.create(parseConfig(webConf(`https_ca_certificates_file = ${certDir}/cert.pem\n`)));
    expect((await readAll((await withCa.get(url)).stream)).equals(bytes)).toBe(true);
    await withCa.close();
    const insecure = await MultiStore.create(parseConfig(webConf('https_insecure = true\n')));
    expect(await insecure.getSize(url)).toBe(5000);
    await insecure.close();
  });

  it('goes through the proxy given in http_proxy_information', async () => {
    const viaProxy = await MultiStore.create(parseConfig(webConf(`http_proxy_information = http:${proxyUrl}\n`)));
    const before = proxied;
    const bytes = randomBytes(7000);
    expect((await readAll((await viaProxy.get(`${base}/img/${seed(bytes)}`)).stream)).equals(bytes)).toBe(true);
    expect(proxied).toBeGreaterThan(before);
    await viaProxy.close();
  });

  it('rejects bad options at start-up, all at once', async () => {
    await expect(MultiStore.create(parseConfig(webConf('https_insecure = maybe\nhttp_proxy_information = ftp:http://p:1\n').replace('default_backend = shared', 'default_backend = web')))).rejects.toMatchObject({
      code: 'BadStoreConfiguration',
      message: expect.stringMatching(/https_insecure[\s\S]*/),
    });
  });
});
