/**
 * The rbd store while its OSD stops answering (SIGSTOP; the OSD is memstore,
 * which keeps nothing across a kill, so it is only ever stopped and
 * continued): an abort settles at once as Aborted and what the add wrote is
 * removed once the OSD is back; a read whose OSD stops errors within
 * rados_osd_op_timeout with a library error, never ends short. The same
 * MultiStore goes on adding and reading afterwards.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MultiStore, parseConfig } from '../../src/index.js';
import { readAll } from '../../src/testing/index.js';
import { serviceEnv } from '../services/env.js';
import { pause, withFault, type Daemon } from '../services/daemons.js';
import { MiB, addAbortedInFault, eventually, rbdConf, readWithFault, source, stored } from './rbd-kit.js';

const ceph = serviceEnv('ceph');
const OSD: Daemon = { service: 'ceph', name: 'osd' };
/** The bound the tests configure for each OSD call, in seconds. */
const OSD_TIMEOUT = 4;
const conf = (env: Record<string, string>) => rbdConf(env, ['rados_connect_timeout = 10', `rados_osd_op_timeout = ${OSD_TIMEOUT}`, `rados_mon_op_timeout = ${OSD_TIMEOUT}`]);

describe.skipIf(!ceph)('rbd store, OSD stopped (SIGSTOP)', () => {
  let ms: MultiStore;
  beforeAll(async () => {
    ms = await MultiStore.create(parseConfig(conf(ceph!)));
  });
  afterAll(() => ms?.close());

  it('an add aborted while the OSD is stopped settles as Aborted within 3 s, and leaves nothing once the OSD is back', async () => {
    const id = randomUUID();
    const bytes = randomBytes(64 * MiB);
    await withFault(OSD, async () => {
      const { error, abortedAt, settledAt } = await addAbortedInFault(ms, id, bytes, () => pause(OSD));
      expect(error).toMatchObject({ code: 'Aborted' });
      expect(settledAt - abortedAt).toBeLessThan(3_000);
      // What the add wrote is the reclaimer's, which cannot reach the OSD yet.
      expect(ms.pendingCleanups()).toMatchObject([{ store: 'fast', kind: 'image' }]);
      expect(ms.pendingCleanups()[0]!.location).toContain(id);
      // Long enough for the writes in flight, and the first removal, to time out.
      await sleep((OSD_TIMEOUT + 2) * 1000);
    });
    await eventually('the aborted add\'s image removed', () => ms.pendingCleanups().length === 0, 90_000);
    expect(stored(ceph!, id)).toEqual([]);

    // The same MultiStore adds and reads an image as before.
    const again = randomBytes(8 * MiB + 3);
    const r = await ms.add(randomUUID(), again);
    expect((await readAll((await ms.get(r.location)).stream)).equals(again)).toBe(true);
    await ms.delete(r.location);
  });

  it('an add whose OSD stops answering fails with BackendUnavailable within its timeouts, and leaves nothing once the OSD is back', async () => {
    const id = randomUUID();
    const bytes = randomBytes(32 * MiB);
    let stoppedAt = 0;
    let error: unknown;
    await withFault(OSD, async () => {
      error = await ms
        .add(
          id,
          source(bytes, async (off) => {
            if (stoppedAt || off < 0.4 * bytes.length) return;
            await pause(OSD);
            stoppedAt = Date.now();
          }),
        )
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      // The writes' bound, then the first removal's: the add does not wait for the OSD.
      expect(Date.now() - stoppedAt).toBeLessThan((3 * OSD_TIMEOUT + 2) * 1000);
      expect(ms.pendingCleanups()).toMatchObject([{ store: 'fast', kind: 'image' }]);
    });
    expect(error).toMatchObject({ code: 'BackendUnavailable', message: expect.stringMatching(/store fast did not answer in time/) });
    await eventually('the failed add\'s image removed', () => ms.pendingCleanups().length === 0, 90_000);
    expect(stored(ceph!, id)).toEqual([]);
  });

  it('a get whose OSD stops errors within rados_osd_op_timeout with a library error naming the store, never ends short', async () => {
    const bytes = randomBytes(48 * MiB);
    const r = await ms.add(randomUUID(), bytes);
    const { stream } = await ms.get(r.location);
    const { read, error, faultAt: stoppedAt, erredAt } = await withFault(OSD, () => readWithFault(stream, bytes.length, 0.25, () => pause(OSD)));
    expect(read).toBeLessThan(bytes.length);
    expect(error).toMatchObject({ code: 'BackendUnavailable', message: expect.stringMatching(/store fast did not answer in time \(ETIMEDOUT\)/) });
    // One read's bound, and one more for a read that had just been sent.
    expect(erredAt - stoppedAt).toBeLessThan((2 * OSD_TIMEOUT + 2) * 1000);

    // The OSD back, the same location reads in full.
    const back = await readAll((await ms.get(r.location)).stream);
    expect(createHash('md5').update(back).digest('hex')).toBe(r.checksum);
    await ms.delete(r.location);
  });
});
