/**
 * The cinder driver against a real OpenStack Cinder (test/services/cinder.sh:
 * Debian's Cinder with its RBD backend on the test Ceph), with noauth
 * (token `admin:admin`, the caller's request context) and behind Keystone
 * (test/services/cinder-keystone.sh, the store's own cinder_store_* user).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { request } from 'undici';
import { MultiStore, parseConfig } from '../src/index.js';
import type { MultiStoreOptions } from '../src/multistore.js';
import { formatCinderLocation, parseCinderLocation } from '../src/drivers/cinder/location.js';
import { FaultProxy, runStoreConformance, readAll } from '../src/testing/index.js';
import { serviceEnv } from './services/env.js';
import { cinderCall, conf, contextOf, listStored, rbdImages, volumes, withContext, type TestVolume } from './services/cinder-api.js';
import { referenceAvailable, roundTripWithReference } from './interop/reference.js';
import { selfSignedCertificate } from './tls.js';

const cinder = serviceEnv('cinder');
const GiB = 2 ** 30;

/**
 * The suite's 16 concurrent adds need more volumes than Cinder's default
 * quota of 10 per project: lift the test project's volume quotas (noauth's
 * admin may), as a deployment storing images in Cinder would.
 */
async function liftQuotas(env: Record<string, string>): Promise<void> {
  const project = env['CINDER_PROJECT_ID']!;
  const res = await request(`${env['CINDER_URL']}/${project}/os-quota-sets/${project}`, {
    method: 'PUT',
    headers: { 'x-auth-token': env['CINDER_TOKEN']!, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ quota_set: { volumes: -1, gigabytes: -1, per_volume_gigabytes: -1 } }),
  });
  await res.body.text();
  if (res.statusCode !== 200) throw new Error(`lifting the Cinder quotas of project ${project}: HTTP ${res.statusCode}`);
}

if (cinder) {
  await liftQuotas(cinder);
  const context = contextOf(cinder);
  runStoreConformance(
    { describe, it, beforeAll, afterAll },
    {
      name: 'cinder (OpenStack Cinder, RBD volumes, noauth request context)',
      storeId: 'volumes',
      create: async (opts: MultiStoreOptions) => withContext(await MultiStore.create(parseConfig(conf(cinder)), opts), context),
      listStored: () => listStored(cinder),
      largeImageBytes: 9 * 1024 * 1024 + 7,
      // The volume is written through librbd: the resident set also counts the cluster connection the
      // attach opens (librados' threads and buffers) and librbd's writeback cache (rbd_cache_size, 32 MiB),
      // about 80 MiB in all, so the image is three times the bound for holding it to fail the case.
      streaming: { imageBytes: 384 * 1024 * 1024, maxGrowthBytes: 128 * 1024 * 1024 },
      // 16 concurrent adds make about 200 Cinder calls, which a loaded two-core machine serves slowly.
      timeout: 240_000,
      faults: {
        target: { host: new URL(cinder['CINDER_URL']!).hostname, port: Number(new URL(cinder['CINDER_URL']!).port) },
        create: async (proxy, opts) => withContext(await MultiStore.create(parseConfig(conf(cinder).replace(new URL(cinder['CINDER_URL']!).host, `${proxy.host}:${proxy.port}`)), opts), context),
        // The volume's data goes over librbd: only Cinder's API passes the proxy, so the faults
        // strike inside its calls. An add sends 225 bytes (the look-up by name), then the volume's
        // create (412 bytes): byte 400 is in the create, which is not sent again. Later calls
        // come after a number of polls that varies, and most are repeated when cut (a cut at 2000
        // lands in the attachment's update, which is, and the add then succeeds). A get receives
        // the volume (1.5 KB), then the answer to the attachment's create: byte 2000 is in it.
        at: { add: 400, get: 2000 },
      },
    },
  );
}

describe.skipIf(!cinder)('cinder adds aborted while Cinder creates their volume', () => {
  it('leave no volume and no rbd image behind, wherever the abort lands', async () => {
    const env = cinder!;
    const ms = withContext(await MultiStore.create(parseConfig(conf(env))), contextOf(env));
    try {
      const before = await listStored(env);
      // From before the create request to after it: an abort in this span used to delete a volume
      // the scheduler had not placed yet, which Cinder then created in the pool with no record.
      // Several at once, as a busy Glance would: Cinder's API then takes longer between reading a
      // volume and removing its record, and the volume service starts creating it in between.
      const delays = [10, 30, 50, 70, 90, 110, 130, 150, 170, 200, 250, 300];
      for (let round = 0; round < 2; round++) {
        const errors = await Promise.all(
          delays.map(async (delay) => {
            const ac = new AbortController();
            const timer = setTimeout(() => ac.abort(), delay * (round + 1));
            const err = (await ms.add(randomUUID(), randomBytes(1024), { signal: ac.signal }).catch((e: unknown) => e)) as { code?: string };
            clearTimeout(timer);
            return err.code;
          }),
        );
        expect(errors).toEqual(delays.map(() => 'Aborted'));
      }
      // An image orphaned that way appears a moment after the add gave up.
      await new Promise((r) => setTimeout(r, 3000));
      expect((await listStored(env)).filter((x) => !before.includes(x))).toEqual([]);
    } finally {
      await ms.close();
    }
  }, 180_000);
});

describe.skipIf(!cinder)('cinder add whose volume create is never answered', () => {
  it('fails with BackendUnavailable; the volume Cinder made goes through the reclaimer, and the id adds again', async () => {
    const env = cinder!;
    const url = new URL(env['CINDER_URL']!);
    const proxy = await FaultProxy.start({ host: url.hostname, port: Number(url.port) });
    const ms = withContext(
      await MultiStore.create(parseConfig(conf(env).replace(url.host, `${proxy.address.host}:${proxy.address.port}`)), { reclaim: { firstPauseMs: 500, maxPauseMs: 2000 } }),
      contextOf(env),
    );
    try {
      const id = randomUUID();
      // An add receives the look-up by name (342 bytes), then the answer to the volume's create: byte 800 is in it.
      proxy.set({ kind: 'cut', afterBytes: 800, direction: 'down' });
      const err = await ms.add(id, randomBytes(1000)).catch((e: unknown) => e);
      proxy.pass();
      expect(err).toMatchObject({ code: 'BackendUnavailable', message: expect.stringMatching(/Cinder POST a 1 GiB volume for image-/) });
      const named = async () => (await volumes(env)).filter((v) => v.name === `image-${id}`);
      const deadline = Date.now() + 30_000;
      while (ms.pendingCleanups().length > 0 || (await named()).length > 0) {
        expect(Date.now(), 'the volume of the unanswered create is still there').toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 250));
      }
      const r = await ms.add(id, Buffer.from('added again'));
      const { data } = await cinderCall<{ volume: TestVolume }>(env, 'GET', `/volumes/${parseCinderLocation(r.location).volumeId}`);
      // Only glance_store's metadata stays on the written volume.
      expect(Object.keys(data.volume.metadata).sort()).toEqual(['glance_image_id', 'image_owner', 'image_size', 'readonly']);
      expect((await readAll((await ms.get(r.location)).stream)).toString()).toBe('added again');
      await ms.delete(r.location);
    } finally {
      await ms.close();
      await proxy.close();
    }
  }, 120_000);
});

describe('cinder locations', () => {
  it('are cinder://<store id>/<volume id>, and the legacy cinder://<volume id> is read', () => {
    const id = '0b6a3f2e-4b9d-4c1e-9a57-2f3c8e1d6a40';
    expect(formatCinderLocation({ storeId: 'volumes', volumeId: id })).toBe(`cinder://volumes/${id}`);
    expect(formatCinderLocation({ volumeId: id })).toBe(`cinder://${id}`);
    expect(parseCinderLocation(`cinder://volumes/${id}`)).toEqual({ storeId: 'volumes', volumeId: id });
    expect(parseCinderLocation(`cinder://${id}`)).toEqual({ volumeId: id });
    // As glance_store (oslo's is_uuid_like): any case, with or without dashes.
    expect(parseCinderLocation(`cinder://${id.toUpperCase().replace(/-/g, '')}`).volumeId).toBe(id.toUpperCase().replace(/-/g, ''));
    expect(() => parseCinderLocation('cinder://volumes/not-a-volume')).toThrow(/volume id/);
    expect(() => parseCinderLocation(`rbd://${id}`)).toThrow(/Not a cinder location/);
  });
});

/** A source of `total` pseudo-random bytes, generated 1 MiB at a time (never held whole), hashed as it goes. */
function generated(total: number): { source: AsyncIterable<Uint8Array>; md5: () => string } {
  const hash = createHash('md5');
  const block = randomBytes(1024 * 1024);
  return {
    source: (async function* () {
      for (let sent = 0, n = 0; sent < total; sent += block.length, n++) {
        const piece = Buffer.from(block.subarray(0, Math.min(block.length, total - sent)));
        if (piece.length >= 4) piece.writeUInt32BE(n, 0); // every MiB differs, so a misplaced one shows
        hash.update(piece);
        yield piece;
      }
    })(),
    md5: () => hash.digest('hex'),
  };
}

async function streamMd5(stream: NodeJS.ReadableStream): Promise<{ md5: string; bytes: number }> {
  const hash = createHash('md5');
  let bytes = 0;
  for await (const c of stream) {
    hash.update(c as Buffer);
    bytes += (c as Buffer).length;
  }
  return { md5: hash.digest('hex'), bytes };
}

describe.skipIf(!cinder)('cinder store on a real Cinder (noauth)', () => {
  let ms: MultiStore;
  const env = cinder!;
  const context = cinder ? contextOf(cinder) : {};
  const opts = { store: 'volumes', context };
  beforeAll(async () => {
    ms = await MultiStore.create(parseConfig(conf(env)));
  });
  afterAll(() => ms?.close());

  it('writes a volume image-<id> of whole GiB with glance_store\'s metadata, read-only, at cinder://<store>/<volume>', async () => {
    const id = randomUUID();
    const bytes = randomBytes(3 * 1024 * 1024 + 1);
    const r = await ms.add(id, bytes, { ...opts, size: bytes.length });
    const volumeId = r.location.slice('cinder://volumes/'.length);
    expect(r.location).toBe(`cinder://volumes/${volumeId}`);
    const { data } = await cinderCall<{ volume: TestVolume & { bootable: string; volume_image_metadata?: unknown } }>(env, 'GET', `/volumes/${volumeId}`);
    expect(data.volume).toMatchObject({
      name: `image-${id}`,
      size: 1,
      status: 'available',
      metadata: { glance_image_id: id, image_owner: env['CINDER_PROJECT_ID'], image_size: String(bytes.length), readonly: 'True' },
    });
    expect(rbdImages(env)).toContain(`volume-${volumeId}`);
    // The legacy single-store form names the same volume, resolved without a store id.
    const legacy = `cinder://${volumeId}`;
    expect((await readAll((await ms.get(legacy, { context })).stream)).equals(bytes)).toBe(true);
    expect(await ms.getSize(legacy, { context })).toBe(bytes.length);
    await ms.delete(legacy, { context });
    expect((await volumes(env)).map((v) => v.id)).not.toContain(volumeId);
    expect(rbdImages(env)).not.toContain(`volume-${volumeId}`);
  }, 120_000);

  it('grows a volume of unknown size past 1 GiB (detach, os-extend, attach) and records image_size', async () => {
    const total = GiB + 3 * 1024 * 1024 + 5;
    const { source, md5 } = generated(total);
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const r = await ms.add(randomUUID(), source, opts).finally(() => clearInterval(timer));
    try {
      expect(r.size).toBe(total);
      expect(r.checksum).toBe(md5());
      expect(peak - before).toBeLessThan(96 * 1024 * 1024);
      const volumeId = parseCinderLocation(r.location).volumeId;
      const { data } = await cinderCall<{ volume: TestVolume }>(env, 'GET', `/volumes/${volumeId}`);
      expect(data.volume.size).toBe(2);
      expect(data.volume.metadata['image_size']).toBe(String(total));
      expect(await ms.getSize(r.location, opts)).toBe(total);
      const got = await ms.get(r.location, opts);
      expect(got.size).toBe(total);
      expect(await streamMd5(got.stream)).toEqual({ md5: r.checksum, bytes: total });
      // A range across the first GiB boundary.
      const range = await ms.get(r.location, { ...opts, offset: GiB - 3, length: 6 });
      expect((await readAll(range.stream)).length).toBe(6);
    } finally {
      await ms.delete(r.location, opts);
    }
  }, 300_000);

  it('grows a volume while it stays attached with cinder_do_extend_attached', async () => {
    const attaches: unknown[] = [];
    const quiet = () => undefined;
    const logger = { debug: (o: unknown, m?: string) => void (m?.startsWith('attached volume') && attaches.push(o)), info: quiet, warn: quiet, error: quiet };
    const attachedMs = await MultiStore.create(parseConfig(conf(env, 'cinder_do_extend_attached = true\n')), { logger });
    try {
      const total = GiB + 1024 * 1024 + 1;
      const { source, md5 } = generated(total);
      const r = await attachedMs.add(randomUUID(), source, opts);
      try {
        expect(r.checksum).toBe(md5());
        const { data } = await cinderCall<{ volume: TestVolume }>(env, 'GET', `/volumes/${parseCinderLocation(r.location).volumeId}`);
        expect({ size: data.volume.size, imageSize: data.volume.metadata['image_size'] }).toEqual({ size: 2, imageSize: String(total) });
        // One read-write attachment for the whole add: the volume grew without a detach.
        expect(attaches).toEqual([expect.objectContaining({ mode: 'rw' })]);
        const tail = await attachedMs.get(r.location, { ...opts, offset: total - 2 * 1024 * 1024 });
        expect((await readAll(tail.stream)).length).toBe(2 * 1024 * 1024);
        expect(await streamMd5((await attachedMs.get(r.location, opts)).stream)).toEqual({ md5: r.checksum, bytes: total });
      } finally {
        await attachedMs.delete(r.location, opts);
      }
    } finally {
      await attachedMs.close();
    }
  }, 300_000);

  it('refuses to delete or read a volume attached elsewhere (InUse), and leaves it as it was', async () => {
    const bytes = randomBytes(5000);
    const r = await ms.add(randomUUID(), bytes, { ...opts, size: bytes.length });
    const volumeId = parseCinderLocation(r.location).volumeId;
    // Another host attaches the volume, as Nova would.
    const a = await cinderCall<{ attachment: { id: string } }>(env, 'POST', '/attachments', { attachment: { volume_uuid: volumeId, mode: 'ro' } });
    expect(a.status).toBe(200);
    const attachment = a.data.attachment.id;
    try {
      const upd = await request(`${env['CINDER_URL']}/${env['CINDER_PROJECT_ID']}/attachments/${attachment}`, {
        method: 'PUT',
        headers: { 'x-auth-token': env['CINDER_TOKEN']!, 'openstack-api-version': 'volume 3.54', 'content-type': 'application/json' },
        body: JSON.stringify({ attachment: { connector: { host: 'other-host', ip: '127.0.0.2', platform: 'x86_64', os_type: 'linux', multipath: false, mountpoint: '/dev/vdb' } } }),
      });
      await upd.body.text();
      expect(upd.statusCode).toBe(200);
      expect((await cinderCall(env, 'POST', `/attachments/${attachment}/action`, { 'os-complete': null })).status).toBe(204);
      await expect(ms.delete(r.location, opts)).rejects.toMatchObject({ code: 'InUse', message: expect.stringMatching(/Cinder DELETE volume .*: Cinder answered HTTP (400|409)/) });
      expect(await ms.getSize(r.location, opts)).toBe(bytes.length);
      // Reading needs an attachment of its own, which Cinder refuses while another host has the volume.
      await expect(ms.get(r.location, opts)).rejects.toMatchObject({ code: 'InUse', message: expect.stringMatching(/attachment of volume/) });
    } finally {
      await cinderCall(env, 'DELETE', `/attachments/${attachment}`);
    }
    await ms.delete(r.location, opts);
    await expect(ms.getSize(r.location, opts)).rejects.toMatchObject({ code: 'NotFound' });
  }, 120_000);

  it('shares one attachment between concurrent reads of one image', async () => {
    const bytes = randomBytes(2 * 1024 * 1024 + 9);
    const r = await ms.add(randomUUID(), bytes, { ...opts, size: bytes.length });
    try {
      const reads = await Promise.all(Array.from({ length: 4 }, (_, i) => ms.get(r.location, { ...opts, offset: i * 1000, length: 100_000 })));
      const got = await Promise.all(reads.map((g) => readAll(g.stream)));
      got.forEach((b, i) => expect(b.equals(bytes.subarray(i * 1000, i * 1000 + 100_000))).toBe(true));
    } finally {
      await ms.delete(r.location, opts);
    }
  }, 120_000);

  it('needs a request context without the cinder_store_* user, and reads none of the data without one', async () => {
    let read = false;
    const source = (async function* () {
      read = true;
      yield Buffer.from('x');
    })();
    await expect(ms.add(randomUUID(), source, { store: 'volumes' })).rejects.toMatchObject({ code: 'BadStoreConfiguration', message: expect.stringMatching(/request context/) });
    expect(read).toBe(false);
    await expect(ms.getSize(`cinder://volumes/${randomUUID()}`, { store: 'volumes' })).rejects.toMatchObject({ code: 'BadStoreConfiguration' });
    await expect(ms.get(`cinder://volumes/${randomUUID()}`, opts)).rejects.toMatchObject({ code: 'NotFound' });
  });
});

describe.skipIf(!cinder)('cinder store options', () => {
  const env = cinder!;
  const context = cinder ? contextOf(cinder) : {};

  it('accepts the options glance_store has, ignoring those for kernel attachments', async () => {
    const ms = await MultiStore.create(parseConfig(conf(env, 'cinder_use_multipath = true\ncinder_enforce_multipath = true\ncinder_mount_point_base = /mnt/x\nrootwrap_config = /etc/glance/rootwrap.conf\ncinder_http_retries = 1\n')));
    try {
      expect(ms.states()).toEqual([expect.objectContaining({ id: 'volumes', ok: true })]);
      const r = await ms.add(randomUUID(), Buffer.from('multipath is ignored'), { store: 'volumes', context });
      expect((await readAll((await ms.get(r.location, { context })).stream)).toString()).toBe('multipath is ignored');
      await ms.delete(r.location, { context });
    } finally {
      await ms.close();
    }
  }, 60_000);

  it('reports bad values, misspelt names, a bad catalog info and an unknown template field clearly, without secrets', async () => {
    await expect(MultiStore.create(parseConfig(conf(env, 'cinder_state_transition_timeout = -1\n')))).rejects.toMatchObject({ code: 'BadStoreConfiguration', message: expect.stringMatching(/cinder_state_transition_timeout/) });
    const misspelt = (await MultiStore.create(parseConfig(conf(env, 'cinder_store_pasword = hunter2secret\n'))).catch((e: unknown) => e)) as Error;
    expect(misspelt).toMatchObject({ code: 'BadStoreConfiguration', message: expect.stringMatching(/cinder_store_pasword.*did you mean "cinder_store_password"/) });
    expect(misspelt.message).not.toContain('hunter2secret');
    await expect(MultiStore.create(parseConfig(conf(env, 'cinder_catalog_info = volumev3\n')))).rejects.toMatchObject({ code: 'BadStoreConfiguration', message: expect.stringMatching(/cinder_catalog_info = "volumev3": must be <service_type>:<service_name>:<interface>/) });
    const ms = await MultiStore.create(parseConfig(conf(env, 'cinder_endpoint_template = http://127.0.0.1:8776/v3/%(domain_of_nothing)s\n')));
    try {
      await expect(ms.getSize(`cinder://volumes/${randomUUID()}`, { context })).rejects.toMatchObject({ code: 'BadStoreConfiguration', message: expect.stringMatching(/%\(domain_of_nothing\)s/) });
    } finally {
      await ms.close();
    }
    // A store user's password never shows, whatever fails.
    const partial = `cinder_store_auth_address = http://127.0.0.1:1/v3\ncinder_store_user_name = u\ncinder_store_password = hunter2secret\ncinder_store_project_name = p\n`;
    const down = await MultiStore.create(parseConfig(conf(env, partial)));
    try {
      const err = (await down.getSize(`cinder://volumes/${randomUUID()}`).catch((e: unknown) => e)) as Error & { code: string };
      expect(err.code).toBe('BackendUnavailable');
      expect(JSON.stringify(down.infoDetail())).not.toContain('hunter2secret');
      expect(`${err.message} ${String(err.cause)}`).not.toContain('hunter2secret');
    } finally {
      await down.close();
    }
  }, 60_000);

  it('verifies Cinder with cinder_ca_certificates_file even when cinder_api_insecure is set: the CA bundle wins', async () => {
    // Cinder behind TLS: a TLS server on 127.0.0.1 that passes each connection on to the real Cinder.
    const cert = selfSignedCertificate();
    const other = selfSignedCertificate();
    const cinderPort = Number(new URL(env['CINDER_URL']!).port);
    const proxy = tls.createServer({ key: cert.key, cert: cert.cert }, (client) => {
      const upstream = net.connect(cinderPort, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const template = `https://127.0.0.1:${(proxy.address() as net.AddressInfo).port}/v3/%(project_id)s`;
    const withTls = (extra: string) => conf(env, extra).replace(env['CINDER_ENDPOINT_TEMPLATE']!, template);
    const missing = `cinder://volumes/${randomUUID()}`;
    try {
      const trusted = await MultiStore.create(parseConfig(withTls(`cinder_ca_certificates_file = ${cert.certFile}\n`)));
      // Cinder itself answered: the volume does not exist.
      await expect(trusted.getSize(missing, { context })).rejects.toMatchObject({ code: 'NotFound' });
      await trusted.close();
      const wrongCa = await MultiStore.create(parseConfig(withTls(`cinder_ca_certificates_file = ${other.certFile}\ncinder_api_insecure = true\ncinder_http_retries = 0\n`)));
      await expect(wrongCa.getSize(missing, { context })).rejects.toMatchObject({ code: 'BackendUnavailable', message: expect.stringMatching(/TLS verification failed.*cinder_ca_certificates_file/) });
      await wrongCa.close();
      const insecure = await MultiStore.create(parseConfig(withTls('cinder_api_insecure = true\n')));
      await expect(insecure.getSize(missing, { context })).rejects.toMatchObject({ code: 'NotFound' });
      await insecure.close();
    } finally {
      proxy.close();
      rmSync(cert.dir, { recursive: true, force: true });
      rmSync(other.dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('names the protocol when Cinder offers a connection it cannot use', async () => {
    const { Connectors } = await import('../src/drivers/cinder/connector.js');
    expect(() => new Connectors(undefined).for({ driver_volume_type: 'iscsi' })).toThrow(/over iscsi, which this store cannot use: it reads and writes volumes over rbd only/);
    expect(() => new Connectors(undefined).for({ driver_volume_type: 'nfs' })).toThrow(/over nfs/);
  });
});

const cinderKs = cinder ? serviceEnv('cinder-keystone') : undefined;

describe.skipIf(!cinderKs)('cinder store behind Keystone (its own cinder_store_* user and the catalog)', () => {
  const ks = cinderKs!;
  const ksConf = (password = ks['CINDER_KS_PASSWORD']) =>
    `[DEFAULT]\nenabled_backends = volumes:cinder\n[glance_store]\ndefault_backend = volumes\n[volumes]\n` +
    `cinder_store_auth_address = ${ks['CINDER_KS_AUTH_URL']}\ncinder_store_user_name = ${ks['CINDER_KS_USER']}\ncinder_store_password = ${password}\n` +
    `cinder_store_project_name = ${ks['CINDER_KS_PROJECT']}\ncinder_os_region_name = ${ks['CINDER_KS_REGION']}\ncinder_catalog_info = ${ks['CINDER_KS_CATALOG_INFO']}\n` +
    // The template is ignored when the store has its own user, as in glance_store.
    `cinder_endpoint_template = http://127.0.0.1:1/v3/%(project_id)s\ncinder_state_transition_timeout = 60\n`;

  it('adds, reads, sizes and deletes without a request context, in the store user\'s project', async () => {
    const ms = await MultiStore.create(parseConfig(ksConf()));
    try {
      expect(ms.infoDetail()[0]!.properties).toMatchObject({ auth: 'store user', region: ks['CINDER_KS_REGION'] });
      const bytes = randomBytes(2 * 1024 * 1024 + 33);
      const r = await ms.add(randomUUID(), bytes);
      expect(r.location).toMatch(/^cinder:\/\/volumes\/[0-9a-f-]{36}$/);
      const volumeId = parseCinderLocation(r.location).volumeId;
      // Seen through the noauth API as admin: the volume belongs to the Keystone project.
      const { data } = await cinderCall<{ volume: TestVolume & { 'os-vol-tenant-attr:tenant_id': string } }>(cinder!, 'GET', `/volumes/${volumeId}`);
      expect(data.volume['os-vol-tenant-attr:tenant_id']).toBe(ks['CINDER_KS_PROJECT_ID']);
      expect(data.volume.metadata['image_size']).toBe(String(bytes.length));
      expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
      expect(await ms.getSize(r.location)).toBe(bytes.length);
      await ms.delete(r.location);
      await expect(ms.getSize(r.location)).rejects.toMatchObject({ code: 'NotFound' });
    } finally {
      await ms.close();
    }
  }, 120_000);

  it('reports refused credentials as AuthenticationFailed, without the password', async () => {
    const ms = await MultiStore.create(parseConfig(ksConf('not-the-password-x9')));
    try {
      const err = (await ms.add(randomUUID(), Buffer.from('x')).catch((e: unknown) => e)) as Error & { code: string };
      expect(err.code).toBe('AuthenticationFailed');
      expect(err.message).not.toContain('not-the-password-x9');
    } finally {
      await ms.close();
    }
  }, 60_000);
});

const interop = cinder && (await referenceAvailable());
describe.skipIf(!interop)('cinder interoperability with Python glance_store (Debian python3-glance-store)', () => {
  it('glance_store reads what this store wrote, and this store reads what glance_store wrote', async () => {
    const env = cinder!;
    const text =
      `[DEFAULT]\nenabled_backends = volumes:cinder\n[glance_store]\ndefault_backend = volumes\n[volumes]\ncinder_endpoint_template = ${env['CINDER_ENDPOINT_TEMPLATE']}\n` +
      // os-brick starts its privileged helper with this (the default goes through sudo and rootwrap).
      '[privsep_osbrick]\nhelper_command = privsep-helper\n';
    const before = await listStored(env);
    await roundTripWithReference({ conf: text, storeId: 'volumes', sizes: [1, 3 * 1024 * 1024 + 17], context: contextOf(env) });
    expect((await listStored(env)).filter((x) => !before.includes(x))).toEqual([]);
  }, 300_000);
});
