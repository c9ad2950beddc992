/**
 * rados_connect_timeout as glance_store 4.7 and later read it: below 0 the
 * Ceph configuration's client_mount_timeout, 0 no timeout, above 0 that many
 * seconds (for the connect and, unless their own options are set, the
 * monitor and OSD calls). The calls after a connect stay bounded whatever it
 * says. The connects here go to a monitor address where nothing listens.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, parseConfig } from '../src/index.js';
import { cephTimeouts, DEFAULT_OP_TIMEOUT } from '../src/drivers/rbd/options.js';

describe('rados_connect_timeout', () => {
  it('maps onto the timeouts the store connects with: -1 leaves the connect to ceph.conf, 0 sets none, N sets N; the calls stay bounded', () => {
    expect(cephTimeouts({ rados_connect_timeout: -1, rados_mon_op_timeout: undefined, rados_osd_op_timeout: undefined })).toEqual({ monOpTimeout: DEFAULT_OP_TIMEOUT, osdOpTimeout: DEFAULT_OP_TIMEOUT });
    expect(cephTimeouts({ rados_connect_timeout: 0, rados_mon_op_timeout: undefined, rados_osd_op_timeout: undefined })).toEqual({ connectTimeout: 0, monOpTimeout: DEFAULT_OP_TIMEOUT, osdOpTimeout: DEFAULT_OP_TIMEOUT });
    expect(cephTimeouts({ rados_connect_timeout: 7, rados_mon_op_timeout: undefined, rados_osd_op_timeout: undefined })).toEqual({ connectTimeout: 7, monOpTimeout: 7, osdOpTimeout: 7 });
    expect(cephTimeouts({ rados_connect_timeout: 7, rados_mon_op_timeout: 3, rados_osd_op_timeout: 40 })).toEqual({ connectTimeout: 7, monOpTimeout: 3, osdOpTimeout: 40 });
  });

  describe('a real connect to monitors that are not there', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'gs-rbd-connect-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** How long MultiStore.create takes to report the store down, with `mount` as ceph.conf's client_mount_timeout. */
    async function timeToFail(mount: number, option?: number): Promise<number> {
      const conf = path.join(dir, `ceph-${mount}.conf`);
      writeFileSync(conf, `[global]\nmon host = 127.0.0.1:1\nclient mount timeout = ${mount}\n`);
      const text = `[DEFAULT]\nenabled_backends = local:file, dead:rbd\n[glance_store]\ndefault_backend = local\n[local]\nfilesystem_store_datadir = ${dir}/images\n[dead]\nrbd_store_ceph_conf = ${conf}\n${option === undefined ? '' : `rados_connect_timeout = ${option}\n`}`;
      const started = Date.now();
      const ms = await MultiStore.create(parseConfig(text));
      const took = Date.now() - started;
      expect(ms.states().find((s) => s.id === 'dead')).toMatchObject({ ok: false, error: expect.stringMatching(/could not connect/) });
      await ms.close();
      return took;
    }

    it('the default (-1) waits as long as ceph.conf\'s client_mount_timeout says', async () => {
      const took = await timeToFail(2);
      expect(took).toBeGreaterThanOrEqual(1_900);
      expect(took).toBeLessThan(6_000);
    });

    it('a positive value wins over ceph.conf\'s', async () => {
      const took = await timeToFail(300, 2);
      expect(took).toBeGreaterThanOrEqual(1_900);
      expect(took).toBeLessThan(6_000);
    });
  });
});
