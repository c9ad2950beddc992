import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { referenceAvailable, roundTripWithReference, reference, type ReferenceAdd } from './interop/reference.js';
import { portAvailable, startVcsim443, type Vcsim443 } from './interop/vcsim-443.js';
import { serviceEnv } from './services/env.js';
import { tmpdir } from 'node:os';
import { randomBytes, randomUUID } from 'node:crypto';
import { MultiStore, parseConfig } from '../src/index.js';

// vcsim's program is built by test/services/vcsim.sh, which the shared vcsim
// needs too; this test runs an instance of its own on 127.0.0.2:443.
const vcsim = serviceEnv('vcsim');
const python = await referenceAvailable();
const port = await portAvailable();
const reason = !python ? 'python3-glance-store is not installed' : !vcsim ? 'vcsim is not installed (test/services/vcsim.sh)' : port.ok ? '' : port.reason;
if (reason && process.env['GLANCE_STORE_REQUIRE_SERVICES']) throw new Error(`the vmware interop test cannot run: ${reason}`);

describe.skipIf(reason !== '')(`vmware interoperability with Python glance_store (vcsim on 127.0.0.2:443)${reason ? `: skipped, ${reason}` : ''}`, () => {
  let server: Vcsim443;
  let conf: string;
  const MiB = 1024 * 1024;

  beforeAll(async () => {
    server = await startVcsim443();
    // No port: glance_store always speaks to 443, and so does this library then.
    conf = `[DEFAULT]
enabled_backends = vc:vmware
[glance_store]
default_backend = vc
[vc]
vmware_server_host = ${server.host}
vmware_server_username = ${server.user}
vmware_server_password = ${server.password}
vmware_ca_file = ${server.caFile}
vmware_datastores = ${server.datacenter}:${server.datastore}
vmware_store_image_dir = /openstack_glance
vmware_task_poll_interval = 1
`;
  });
  afterAll(async () => {
    await server?.stop();
  });

  function imagesLeft(): string[] {
    const dir = path.join(server.datastoreDir, 'openstack_glance');
    return existsSync(dir) ? readdirSync(dir) : [];
  }

  it('each side reads (whole, same bytes and hashes), sizes and deletes what the other added', async () => {
    await roundTripWithReference({ conf, storeId: 'vc', sizes: [17, 3 * MiB + 7] });
    expect(imagesLeft()).toEqual([]);
  });

  it('writes byte-identical locations: glance_store\'s and this library\'s differ only in the image id', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gs-vmware-interop-'));
    const ms = await MultiStore.create(parseConfig(conf));
    try {
      const confFile = path.join(dir, 'glance-api.conf');
      writeFileSync(confFile, conf);
      const src = path.join(dir, 'src.bin');
      writeFileSync(src, randomBytes(1000));
      const theirId = randomUUID();
      const theirs = await reference<ReferenceAdd>(confFile, 'add', 'vc', theirId, src);
      const ourId = randomUUID();
      const ours = await ms.add(ourId, randomBytes(1000));
      const form = (id: string) => `vsphere://127.0.0.2/folder/openstack_glance/${id}?dsName=LocalDS_0&dcPath=DC0`;
      expect(theirs.location).toBe(form(theirId));
      expect(ours.location).toBe(form(ourId));
      expect(theirs.metadata).toEqual({ store: 'vc' });
      expect(ours.metadata).toMatchObject({ store: 'vc' });
      await ms.delete(theirs.location);
      await ms.delete(ours.location);
      expect(imagesLeft()).toEqual([]);
    } finally {
      await ms.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
