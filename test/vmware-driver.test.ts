import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { MultiStore, parseConfig } from '../src/index.js';
import type { Logger } from '../src/logger.js';
import { formatVsphereLocation, parseVsphereLocation, quotePlus } from '../src/drivers/vmware/location.js';
import { parseDatastoreSpec, parseServerHost } from '../src/drivers/vmware/options.js';
import { chooseDatastore } from '../src/drivers/vmware/inventory.js';
import { retrieveProperties } from '../src/drivers/vmware/inventory.js';
import { VsphereSession } from '../src/drivers/vmware/session.js';
import { children, child, text } from '../src/drivers/vmware/soap.js';
import { ServiceClient } from '../src/net/client.js';
import { readTls } from '../src/net/tls.js';
import { runStoreConformance, readAll } from '../src/testing/index.js';
import { serviceEnv } from './services/env.js';
import { execFileSync } from 'node:child_process';
import { PYTHON, referenceAvailable } from './interop/reference.js';

const vcsim = serviceEnv('vcsim');
const MiB = 1024 * 1024;

async function collect<T>(entries: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const e of entries) out.push(e);
  return out;
}

describe('vsphere locations', () => {
  it('are written as glance_store writes them: dsName first, values quoted as urlencode quotes them', () => {
    const id = 'fdae39a1-bac5-4238-aba4-69bcc726e848';
    expect(formatVsphereLocation('vcenter.example.org', '/openstack_glance', id, 'LocalDS_0', 'DC0')).toBe(`vsphere://vcenter.example.org/folder/openstack_glance/${id}?dsName=LocalDS_0&dcPath=DC0`);
    expect(formatVsphereLocation('10.0.0.1:8443', 'images/', id, 'ds 1', 'folder/DC 1')).toBe(`vsphere://10.0.0.1:8443/folder/images/${id}?dsName=ds+1&dcPath=folder%2FDC+1`);
    expect(formatVsphereLocation('[fd00::1]', '/', id, 'ds', 'DC0')).toBe(`vsphere://[fd00::1]/folder/${id}?dsName=ds&dcPath=DC0`);
    expect(quotePlus("a/b c~d_e.f-g!'")).toBe('a%2Fb+c~d_e.f-g%21%27');
  });

  it('are read as glance_store reads them, in either parameter order, and refused with the reason when malformed', () => {
    expect(parseVsphereLocation('vsphere://vc/folder/openstack_glance/abc?dsName=ds+1&dcPath=folder%2FDC0')).toEqual({
      host: 'vc',
      path: '/folder/openstack_glance/abc',
      query: 'dsName=ds+1&dcPath=folder%2FDC0',
      datastoreName: 'ds 1',
      datacenterPath: 'folder/DC0',
    });
    // Older glance_store releases wrote dcPath first.
    expect(parseVsphereLocation('vsphere://vc:443/folder/openstack_glance/abc?dcPath=DC0&dsName=ds')).toMatchObject({ host: 'vc:443', datastoreName: 'ds', datacenterPath: 'DC0' });
    expect(() => parseVsphereLocation('http://vc/folder/x/y?dsName=a')).toThrow(/must start with vsphere:\/\//);
    expect(() => parseVsphereLocation('vsphere://vc/images/x?dsName=a')).toThrow(/path must be \/folder/);
    expect(() => parseVsphereLocation('vsphere://vc/folder/x/y?dcPath=DC0')).toThrow(/names no datastore/);
    expect(() => parseVsphereLocation('vsphere://u:TOPSECRET@vc/folder/x/y?dsName=a')).toThrow(/credentials/);
    expect(() => parseVsphereLocation('vsphere://u:TOPSECRET@vc/folder/x/y?dsName=a')).not.toThrow(/TOPSECRET/);
  });

  it('take vmware_server_host with or without a port, and vmware_datastores entries as glance_store splits them', () => {
    expect(parseServerHost('vc.example.org')).toEqual({ host: 'vc.example.org', port: 443 });
    expect(parseServerHost('127.0.0.1:8989')).toEqual({ host: '127.0.0.1', port: 8989 });
    expect(parseServerHost('[fd00::1]:8443')).toEqual({ host: '[fd00::1]', port: 8443 });
    expect(parseServerHost('fd00::1')).toEqual({ host: '[fd00::1]', port: 443 });
    expect(parseServerHost('https://vc/sdk')).toBeUndefined();
    expect(parseDatastoreSpec('DC0:LocalDS_0:100')).toEqual({ datacenterPath: 'DC0', datastoreName: 'LocalDS_0', weight: 100 });
    expect(parseDatastoreSpec('folder/DC0:ds')).toEqual({ datacenterPath: 'folder/DC0', datastoreName: 'ds', weight: 0 });
    expect(parseDatastoreSpec('a:b:c:5')).toEqual({ datacenterPath: 'a:b', datastoreName: 'c', weight: 5 });
    expect(parseDatastoreSpec('DC0:ds:heavy')).toMatch(/not a whole number/);
    expect(parseDatastoreSpec('justone')).toMatch(/must be/);
    expect(parseDatastoreSpec(':ds')).toMatch(/needs both/);
  });

  it('choose a datastore as glance_store does: highest weight first, then most free space that holds the image, never an inaccessible one', () => {
    const ds = (value: string, weight: number) => ({ ref: { type: 'Datastore', value }, weight });
    const states = new Map([
      ['big', { freeSpace: 1000, accessible: true }],
      ['small', { freeSpace: 10, accessible: true }],
      ['gone', { freeSpace: 5000, accessible: false }],
    ]);
    const all = [ds('big', 0), ds('small', 10), ds('gone', 20)];
    expect(chooseDatastore(all, states, 5)?.ref.value).toBe('small');
    expect(chooseDatastore(all, states, 11)?.ref.value).toBe('big');
    expect(chooseDatastore([ds('big', 1), ds('small', 1)], states, 0)?.ref.value).toBe('big');
    expect(chooseDatastore(all, states, 1001)).toBeUndefined();
  });
});

const pythonAvailable = await referenceAvailable();

describe.skipIf(!pythonAvailable)('vsphere locations against glance_store', () => {
  it('are the URIs glance_store\'s StoreLocation writes, and parse to the parts it reads', () => {
    const specs = [
      { server_host: '127.0.0.1:8989', image_dir: '/openstack_glance', image_id: randomUUID(), datacenter_path: 'DC0', datastore_name: 'LocalDS_0' },
      { server_host: 'vc.example.org', image_dir: 'images/', image_id: 'abc', datacenter_path: 'folder/DC 1', datastore_name: 'ds 1' },
      { server_host: 'fd00::1', image_dir: '/a/b/', image_id: 'x', datacenter_path: 'DC0', datastore_name: "a&b=c/d~e'f" },
    ];
    const script = `
import json, sys
from oslo_config import cfg
from glance_store._drivers.vmware_datastore import StoreLocation
out = []
for spec in json.loads(sys.argv[1]):
    loc = StoreLocation(dict(spec, scheme='vsphere'), cfg.CONF)
    back = StoreLocation({}, cfg.CONF)
    back.parse_uri(loc.get_uri())
    out.append({'uri': loc.get_uri(), 'host': back.server_host, 'path': back.path, 'dc': back.datacenter_path, 'ds': back.datastore_name})
print(json.dumps(out))
`;
    const theirs = JSON.parse(execFileSync(PYTHON, ['-c', script, JSON.stringify(specs)], { encoding: 'utf8' })) as { uri: string; host: string; path: string; dc: string; ds: string }[];
    specs.forEach((spec, i) => {
      const host = spec.server_host.includes('::') ? `[${spec.server_host}]` : spec.server_host;
      const ours = formatVsphereLocation(host, spec.image_dir, spec.image_id, spec.datastore_name, spec.datacenter_path);
      expect(ours).toBe(theirs[i]!.uri);
      const parsed = parseVsphereLocation(theirs[i]!.uri);
      expect({ host: parsed.host, path: parsed.path, dc: parsed.datacenterPath, ds: parsed.datastoreName }).toEqual({ host: theirs[i]!.host, path: theirs[i]!.path, dc: theirs[i]!.dc, ds: theirs[i]!.ds });
    });
  });
});

describe.skipIf(!vcsim)('vmware store against vcsim (govmomi vCenter simulator)', () => {
  const env = vcsim!;
  const root = env['VCSIM_DATASTORE_ROOT']!;
  const run = randomUUID().slice(0, 8);
  const dirs = { images: `glance-${run}`, copies: `copies-${run}` };

  function storeSection(id: string, o: { dir: string; datastores?: string[]; host?: string; password?: string; extra?: string }): string {
    const datastores = (o.datastores ?? [`DC0:${env['VCSIM_DATASTORE']}`]).map((d) => `vmware_datastores = ${d}`).join('\n');
    return `[${id}]
vmware_server_host = ${o.host ?? env['VCSIM_HOST']}
vmware_server_username = ${env['VCSIM_USER']}
vmware_server_password = ${o.password ?? env['VCSIM_PASSWORD']}
vmware_ca_file = ${env['VCSIM_CA_FILE']}
vmware_store_image_dir = /${o.dir}
vmware_api_retry_count = 2
vmware_task_poll_interval = 1
${datastores}
${o.extra ?? ''}
`;
  }

  function conf(host?: string): string {
    return `[DEFAULT]\nenabled_backends = vm:vmware, copies:vmware\n[glance_store]\ndefault_backend = vm\n${storeSection('vm', { dir: dirs.images, ...(host ? { host } : {}) })}${storeSection('copies', { dir: dirs.copies, ...(host ? { host } : {}) })}`;
  }

  function single(section: Parameters<typeof storeSection>[1]): string {
    return `[DEFAULT]\nenabled_backends = one:vmware\n[glance_store]\ndefault_backend = one\n${storeSection('one', section)}`;
  }

  /** Every file under `dir` of every datastore, as `<datastore>/<name>`. */
  function filesIn(dir: string): string[] {
    const out: string[] = [];
    for (const ds of readdirSync(root)) {
      const d = path.join(root, ds, dir);
      if (existsSync(d)) for (const f of readdirSync(d)) out.push(`${ds}/${f}`);
    }
    return out;
  }

  runStoreConformance(
    { describe, it, beforeAll, afterAll },
    {
      name: 'vmware (vcsim over TLS)',
      storeId: 'vm',
      secondStoreId: 'copies',
      create: (opts) => MultiStore.create(parseConfig(conf()), opts),
      listStored: async () => [...filesIn(dirs.images), ...filesIn(dirs.copies).map((f) => `copies/${f}`)],
      largeImageBytes: 9 * MiB + 7,
      timeout: 90_000,
      faults: {
        target: parseServerHost(env['VCSIM_HOST']!)!,
        create: (proxy, opts) => MultiStore.create(parseConfig(conf(`${proxy.host}:${proxy.port}`)), opts),
      },
    },
  );

  /** A logger that keeps every line, to look for secrets in. */
  function recordingLogger(): { logger: Logger; lines: string[] } {
    const lines: string[] = [];
    const keep = (obj: unknown, msg?: string) => lines.push(`${typeof obj === 'string' ? obj : JSON.stringify(obj)} ${msg ?? ''}`);
    return { logger: { debug: keep, info: keep, warn: keep, error: keep }, lines };
  }

  /** A session of the test's own, to look at (and end) the server's sessions. */
  async function inspector(): Promise<{ session: VsphereSession; sessionKeys(): Promise<string[]>; ownKey(): Promise<string>; close(): Promise<void> }> {
    const { tls } = readTls({ caFile: env['VCSIM_CA_FILE'] }, { caFile: 'ca' });
    const client = ServiceClient.create({ service: 'vCenter', tls });
    const session = new VsphereSession(client, { origin: `https://${env['VCSIM_HOST']}`, username: env['VCSIM_USER']!, password: env['VCSIM_PASSWORD']! });
    const manager = async () => (await session.serviceContent()).sessionManager;
    const props = async (p: string) => (await retrieveProperties(session, [await manager()], [p])).get((await manager()).value)?.get(p);
    return {
      session,
      sessionKeys: async () => children(await props('sessionList'), 'UserSession').map((s) => text(child(s, 'key'))!),
      ownKey: async () => text(child(await props('currentSession'), 'key'))!,
      close: async () => {
        await session.logout();
        await client.close();
      },
    };
  }

  it('writes locations glance_store would write, and logs glance_store\'s deprecation notice once per store', async () => {
    const { logger, lines } = recordingLogger();
    const ms = await MultiStore.create(parseConfig(conf()), { logger });
    try {
      const id = randomUUID();
      const bytes = randomBytes(4096);
      const r = await ms.add(id, bytes, { store: 'vm' });
      expect(r.location).toBe(`vsphere://${env['VCSIM_HOST']}/folder/${dirs.images}/${id}?dsName=${env['VCSIM_DATASTORE']}&dcPath=DC0`);
      expect(readFileSync(path.join(root, env['VCSIM_DATASTORE']!, dirs.images, id)).equals(bytes)).toBe(true);
      await ms.delete(r.location, { store: 'vm' });
      expect(lines.filter((l) => l.includes('deprecated')).length).toBe(2);
    } finally {
      await ms.close();
    }
  });

  it('reads, sizes, ranges and deletes an image glance_store wrote (a file PUT under /folder, its location in glance_store\'s form)', async () => {
    const ms = await MultiStore.create(parseConfig(conf()));
    try {
      const id = randomUUID();
      const bytes = randomBytes(100_000);
      mkdirSync(path.join(root, env['VCSIM_DATASTORE']!, dirs.images), { recursive: true });
      writeFileSync(path.join(root, env['VCSIM_DATASTORE']!, dirs.images, id), bytes);
      const location = `vsphere://${env['VCSIM_HOST']}/folder/${dirs.images}/${id}?dsName=${env['VCSIM_DATASTORE']}&dcPath=DC0`;
      expect(await ms.getSize(location)).toBe(bytes.length);
      expect((await readAll((await ms.get(location)).stream)).equals(bytes)).toBe(true);
      expect((await readAll((await ms.get(location, { offset: 1000, length: 5000 })).stream)).equals(bytes.subarray(1000, 6000))).toBe(true);
      // A new add of the same id never overwrites it.
      await expect(ms.add(id, randomBytes(10), { store: 'vm' })).rejects.toMatchObject({ code: 'Duplicate' });
      expect(readFileSync(path.join(root, env['VCSIM_DATASTORE']!, dirs.images, id)).equals(bytes)).toBe(true);
      await ms.delete(location);
      expect(existsSync(path.join(root, env['VCSIM_DATASTORE']!, dirs.images, id))).toBe(false);
      await expect(ms.delete(location)).rejects.toMatchObject({ code: 'NotFound' });
      await expect(ms.getSize(location)).rejects.toMatchObject({ code: 'NotFound' });
    } finally {
      await ms.close();
    }
  });

  it('puts an image on the datastore of the highest weight that is accessible and can hold it, else StorageFull leaving nothing', async () => {
    const small = env['VCSIM_SMALL_DATASTORE']!;
    const dir = `choice-${run}`;
    const ms = await MultiStore.create(
      parseConfig(single({ dir, datastores: [`DC0:${env['VCSIM_DATASTORE']}:0`, `DC0:${small}:10`, `DC0:${env['VCSIM_INACCESSIBLE_DATASTORE']}:20`] })),
    );
    const tight = await MultiStore.create(parseConfig(single({ dir, datastores: [`DC0:${small}`] })));
    const level = await MultiStore.create(parseConfig(single({ dir, datastores: [`DC0:${small}:5`, `DC0:${env['VCSIM_DATASTORE']}:5`] })));
    try {
      const dsOf = (location: string) => parseVsphereLocation(location).datastoreName;
      const fits = await ms.add(randomUUID(), randomBytes(1024), { size: 1024 });
      expect(dsOf(fits.location)).toBe(small);
      // 17 MiB declared: more than the small datastore reports free, so the next weight.
      const large = Number(env['VCSIM_SMALL_FREE']) + MiB;
      const big = await ms.add(randomUUID(), randomBytes(large), { size: large });
      expect(dsOf(big.location)).toBe(env['VCSIM_DATASTORE']);
      // Equal weights: the most free space.
      const even = await level.add(randomUUID(), randomBytes(10), { size: 10 });
      expect(dsOf(even.location)).toBe(env['VCSIM_DATASTORE']);
      const before = filesIn(dir);
      await expect(tight.add(randomUUID(), randomBytes(large), { size: large })).rejects.toMatchObject({ code: 'StorageFull' });
      expect(filesIn(dir)).toEqual(before);
      for (const r of [fits, big, even]) await ms.delete(r.location);
      expect(filesIn(dir)).toEqual([]);
    } finally {
      await Promise.all([ms.close(), tight.close(), level.close()]);
    }
  });

  it('lists the image directory of each datastore through the datastore browser: images with their location, uploads as leftovers aged by their file, nothing else', async () => {
    const dir = `listing-${run}`;
    const [big, small] = [env['VCSIM_DATASTORE']!, env['VCSIM_SMALL_DATASTORE']!];
    const ms = await MultiStore.create(parseConfig(single({ dir, datastores: [`DC0:${big}:0`, `DC0:${small}:10`] })));
    try {
      // Nothing was ever added: no directory on either datastore, nothing listed.
      expect(await collect(ms.list('one'))).toEqual([]);
      const added = await ms.add(randomUUID(), randomBytes(1000), { size: 1000 });
      expect(parseVsphereLocation(added.location).datastoreName).toBe(small);
      // What glance_store (or a lower weight's add) wrote on the other datastore, an upload a crash left an hour ago, and names no add writes.
      const planted = randomUUID();
      const crashed = randomUUID();
      const onBig = path.join(root, big, dir);
      mkdirSync(path.join(onBig, randomUUID()), { recursive: true });
      writeFileSync(path.join(onBig, planted), randomBytes(3000));
      const upload = path.join(onBig, `${crashed}.0123456789ab.partial`);
      writeFileSync(upload, randomBytes(500));
      const hourAgo = new Date(Date.now() - 3600_000);
      utimesSync(upload, hourAgo, hourAgo);
      writeFileSync(path.join(onBig, '.DS_Store'), 'x');
      const listed = (await collect(ms.list('one'))).map(({ since, ...image }) => ({ ...image, since: since instanceof Date }));
      expect(listed.sort((a, b) => a.size! - b.size!)).toEqual([
        { id: parseVsphereLocation(added.location).path.split('/').pop(), size: 1000, location: added.location, since: true },
        { id: planted, size: 3000, location: formatVsphereLocation(env['VCSIM_HOST']!, `/${dir}`, planted, big, 'DC0'), since: true },
      ]);
      const leftovers = await collect(ms.leftovers('one'));
      expect(leftovers).toHaveLength(1);
      expect(leftovers[0]).toMatchObject({ kind: 'upload', imageId: crashed, size: 500, location: formatVsphereLocation(env['VCSIM_HOST']!, `/${dir}`, `${crashed}.0123456789ab.partial`, big, 'DC0') });
      expect(Math.abs(leftovers[0]!.since!.getTime() - hourAgo.getTime())).toBeLessThan(2000);
      // The leftover's location is one delete takes.
      await ms.delete(leftovers[0]!.location, { store: 'one' });
      expect(existsSync(upload)).toBe(false);
      await ms.delete(added.location);
    } finally {
      await ms.close();
      for (const ds of [big, small]) rmSync(path.join(root, ds, dir), { recursive: true, force: true });
    }
  });

  it('refuses a datastore or datacenter vCenter does not have, naming it', async () => {
    const ms = await MultiStore.create(parseConfig(single({ dir: `missing-${run}`, datastores: ['DC0:NoSuchDS', 'DC9:LocalDS_0'] })));
    try {
      const err = await ms.add(randomUUID(), randomBytes(10)).catch((e: unknown) => e as Error & { code?: string });
      expect(err).toMatchObject({ code: 'BadStoreConfiguration' });
      expect((err as Error).message).toMatch(/could not find datastore NoSuchDS in datacenter DC0/);
      expect((err as Error).message).toMatch(/no datacenter at "DC9"/);
    } finally {
      await ms.close();
    }
  });

  it('logs in again when vCenter ended its session, and logs out on close', async () => {
    const look = await inspector();
    const ms = await MultiStore.create(parseConfig(conf()));
    try {
      const first = await ms.add(randomUUID(), randomBytes(2048), { store: 'vm' });
      const own = await look.ownKey();
      const others = (await look.sessionKeys()).filter((k) => k !== own);
      expect(others.length).toBeGreaterThan(0);
      // End every other session on the server (the store's among them), as an administrator or a timeout would.
      const manager = (await look.session.serviceContent()).sessionManager;
      await look.session.invoke('TerminateSession', manager, { sessionId: others });
      expect((await look.sessionKeys()).filter((k) => k !== own)).toEqual([]);
      // The next call meets NotAuthenticated, logs in again, and succeeds.
      const second = await ms.add(randomUUID(), randomBytes(2048), { store: 'vm' });
      await ms.delete(first.location);
      await ms.delete(second.location);
      expect((await look.sessionKeys()).filter((k) => k !== own).length).toBe(1);
      await ms.close();
      expect((await look.sessionKeys()).filter((k) => k !== own)).toEqual([]);
    } finally {
      await ms.close();
      await look.close();
    }
  });

  /**
   * An https proxy in front of vcsim (vcsim does not check the session cookie on /folder):
   * it answers the next `refuse` /folder requests of the given methods with 401, and counts logins.
   */
  async function refusingProxy(): Promise<{ host: string; logins: () => number; refuse(n: number, methods: string[]): void; close(): Promise<void> }> {
    const dir = path.dirname(env['VCSIM_CA_FILE']!);
    const ca = readFileSync(env['VCSIM_CA_FILE']!);
    const target = parseServerHost(env['VCSIM_HOST']!)!;
    let logins = 0;
    let refusals = 0;
    let refused: string[] = [];
    const server = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: ca }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.url?.startsWith('/folder') && refusals > 0 && refused.includes(req.method ?? '')) {
          refusals--;
          res.writeHead(401).end();
          return;
        }
        if (body.includes('<Login ')) logins++;
        const headers = { ...req.headers };
        delete headers['transfer-encoding'];
        headers['content-length'] = String(body.length);
        const up = https.request({ host: target.host, port: target.port, method: req.method, path: req.url, headers, ca }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        up.on('error', () => res.destroy());
        up.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
      logins: () => logins,
      refuse(n, methods) {
        refusals = n;
        refused = methods;
      },
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  it('logs in again when /folder answers 401, once per request; an upload refused so fails with AuthenticationFailed and leaves nothing', async () => {
    const proxy = await refusingProxy();
    const dir = `relogin-${run}`;
    const ms = await MultiStore.create(parseConfig(single({ dir, host: proxy.host })));
    try {
      const bytes = randomBytes(50_000);
      const r = await ms.add(randomUUID(), bytes);
      expect(proxy.logins()).toBe(1);
      proxy.refuse(1, ['GET']);
      expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
      expect(proxy.logins()).toBe(2);
      proxy.refuse(1, ['HEAD']);
      expect(await ms.getSize(r.location)).toBe(bytes.length);
      expect(proxy.logins()).toBe(3);
      // Refused again after the new login: the session cannot be had.
      proxy.refuse(2, ['GET']);
      await expect(ms.get(r.location)).rejects.toMatchObject({ code: 'AuthenticationFailed' });
      // A streaming upload cannot be sent again.
      const before = filesIn(dir);
      proxy.refuse(1, ['PUT']);
      await expect(ms.add(randomUUID(), randomBytes(10_000))).rejects.toMatchObject({ code: 'AuthenticationFailed' });
      expect(filesIn(dir)).toEqual(before);
      await ms.delete(r.location);
      expect(filesIn(dir)).toEqual([]);
    } finally {
      await ms.close();
      await proxy.close();
    }
  });

  it('never shows the password: a refused login is AuthenticationFailed, and no error or log line holds it', async () => {
    const { logger, lines } = recordingLogger();
    const wrong = `Wrong-${randomUUID()}`;
    const bad = await MultiStore.create(parseConfig(single({ dir: `auth-${run}`, password: wrong })), { logger });
    const good = await MultiStore.create(parseConfig(conf()), { logger });
    try {
      const err = (await bad.add(randomUUID(), randomBytes(10)).catch((e: unknown) => e)) as Error & { code?: string };
      expect(err.code).toBe('AuthenticationFailed');
      const r = await good.add(randomUUID(), randomBytes(10), { store: 'vm' });
      await good.delete(r.location);
      const shown = [err.message, String(err.stack), JSON.stringify(bad.infoDetail()), JSON.stringify(good.infoDetail()), ...lines].join('\n');
      expect(shown).not.toContain(wrong);
      expect(shown).not.toContain(env['VCSIM_PASSWORD']);
    } finally {
      await bad.close();
      await good.close();
    }
  });

  it('keeps the datastore directories it was given', () => {
    for (const ds of [env['VCSIM_DATASTORE'], env['VCSIM_SMALL_DATASTORE']]) expect(statSync(path.join(root, ds!)).isDirectory()).toBe(true);
  });
});
