/**
 * getFirst against a real backend that stops answering: an image stored in
 * swift (the heavier store) and in a file store. While the swift proxy is
 * stopped (SIGSTOP) or killed, reading the image falls through to the file
 * store's location once swift's request times out or refuses, and the bytes
 * are the image's; once the proxy answers again, swift serves it again.
 * Runs under the backend lock, after the rest of the suite.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, parseConfig, type Logger, type LocationRecord } from '../../src/index.js';
import { readAll } from '../../src/testing/index.js';
import { kill, pause, withFault, type Daemon } from '../services/daemons.js';
import { serviceEnv } from '../services/env.js';
import { swiftContainerListing, swiftRequest, type SwiftAccount } from '../services/swift-api.js';

const swift = serviceEnv('swift');
const account: SwiftAccount | undefined = swift && { authUrl: swift['SWIFT_AUTH_URL']!, user: swift['SWIFT_USER']!, key: swift['SWIFT_KEY']! };
const PROXY: Daemon = { service: 'swift', name: 'proxy' };
const REQUEST_TIMEOUT_S = 2;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.skipIf(!swift)('getFirst when the heaviest location\'s backend (the swift proxy) stops answering', () => {
  const container = `glance-pf-first-${randomUUID().slice(0, 8)}`;
  let root: string;
  let ms: MultiStore;
  const warnings: string[] = [];
  const data = randomBytes(3 * 1024 * 1024 + 3);
  let locations: LocationRecord[];

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'gs-pf-first-'));
    const none = () => undefined;
    const logger: Logger = { debug: none, info: none, error: none, warn: (_o, m) => void warnings.push(String(m)) };
    const conf = [
      '[DEFAULT]',
      'enabled_backends = local:file, objects:swift',
      '[glance_store]',
      'default_backend = local',
      '[local]',
      'weight = 1',
      `filesystem_store_datadir = ${root}/local`,
      '[objects]',
      'weight = 10',
      'swift_store_auth_version = 1',
      `swift_store_auth_address = ${swift!['SWIFT_AUTH_URL']}`,
      `swift_store_user = ${swift!['SWIFT_USER']}`,
      `swift_store_key = ${swift!['SWIFT_KEY']}`,
      `swift_store_container = ${container}`,
      'swift_store_create_container_on_put = true',
      `swift_store_request_timeout = ${REQUEST_TIMEOUT_S}`,
    ].join('\n');
    ms = await MultiStore.create(parseConfig(conf), { logger });
    const id = randomUUID();
    locations = [];
    for (const store of ['local', 'objects']) {
      const r = await ms.add(id, data, { store });
      locations.push({ url: r.location, metadata: r.metadata });
    }
  });
  afterAll(async () => {
    if (ms) for (const loc of locations ?? []) await ms.delete(loc).catch(() => undefined);
    await ms?.close();
    if (swift) {
      for (const name of await swiftContainerListing(account!, container).catch(() => [])) await (await swiftRequest(account!, 'DELETE', `${container}/${encodeURIComponent(name)}`)).arrayBuffer();
      await (await swiftRequest(account!, 'DELETE', container)).arrayBuffer().catch(() => undefined);
    }
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function readFirst(): Promise<{ store: string; sha: string; ms: number }> {
    const started = Date.now();
    const got = await ms.getFirst(locations, { verify: { multihash: sha512(data) } });
    const bytes = await readAll(got.stream);
    return { store: got.store, sha: sha(bytes), ms: Date.now() - started };
  }

  it('reads from swift while it answers', async () => {
    expect(await readFirst()).toMatchObject({ store: 'objects', sha: sha(data) });
  });

  it('proxy stopped: falls through to the file store once the swift request times out', async () => {
    warnings.length = 0;
    const r = await withFault(PROXY, async () => {
      await pause(PROXY);
      return readFirst();
    });
    expect(r).toMatchObject({ store: 'local', sha: sha(data) });
    // Bounded by swift's request timeout, not by the stopped proxy.
    expect(r.ms).toBeLessThan(REQUEST_TIMEOUT_S * 1000 * 3 + 5_000);
    expect(warnings.some((w) => /failed \(BackendUnavailable\): trying the image's next location/.test(w))).toBe(true);
    expect(await readFirst()).toMatchObject({ store: 'objects', sha: sha(data) });
  });

  it("proxy killed: falls through at once; swift's location alone rejects with its error, listed in errors", async () => {
    warnings.length = 0;
    const r = await withFault(PROXY, async () => {
      await kill(PROXY);
      const first = await readFirst();
      // Only swift's location: the last error is swift's, and the only one.
      const err = (await ms.getFirst([locations[1]!]).catch((e: unknown) => e)) as { code: string; errors: Array<{ code: string }> };
      return { first, err };
    });
    expect(r.first).toMatchObject({ store: 'local', sha: sha(data) });
    expect(r.first.ms).toBeLessThan(REQUEST_TIMEOUT_S * 1000 * 3 + 5_000);
    expect(r.err.code).toBe('BackendUnavailable');
    expect(r.err.errors.map((e) => e.code)).toEqual(['BackendUnavailable']);
    expect(await readFirst()).toMatchObject({ store: 'objects', sha: sha(data) });
  });
});

function sha512(b: Buffer): string {
  return createHash('sha512').update(b).digest('hex');
}
