/**
 * The rbd store when its OSD is killed (SIGKILL) and started again, on the
 * small cluster of test/services/ceph-bluestore.sh, whose bluestore OSD keeps
 * its data across a kill (the main cluster's memstore OSD would lose it). A
 * get errors within rados_osd_op_timeout with a library error, never hangs or
 * ends short; a failed or aborted add leaves nothing once the OSD is back; an
 * image stored before the kills reads back byte for byte after them; and the
 * same MultiStore goes on adding and reading.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MultiStore, parseConfig } from '../../src/index.js';
import { readAll } from '../../src/testing/index.js';
import { serviceEnv } from '../services/env.js';
import { kill, withFault, type Daemon } from '../services/daemons.js';
import { MiB, addAbortedInFault, eventually, rbdConf, readWithFault, source, stored } from './rbd-kit.js';

const cluster = serviceEnv('ceph-bluestore');
const OSD: Daemon = { service: 'ceph-bluestore', name: 'osd' };
/** rados_osd_op_timeout's default, in seconds (src/drivers/rbd/options.ts). */
const DEFAULT_OSD_TIMEOUT = 30;
/** The bound the faster tests configure for each monitor and OSD call, in seconds. */
const OSD_TIMEOUT = 4;
/** How long a restarted OSD may take to serve again, and the reclaimer to retry (its pauses grow to 60 s). */
const RECOVERY_MS = 90_000;

const execFileAsync = promisify(execFile);
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/**
 * Waits until the add of `id` writes its image's data (its first RADOS data
 * object exists): the pipeline reads ahead of the driver, so 40 % of an
 * in-memory source can be read before the image is even created.
 */
async function writing(id: string): Promise<void> {
  const env = cluster!;
  const auth = ['-c', env['CEPH_CONF']!, '--id', env['CEPH_USER']!];
  const end = Date.now() + 20_000;
  let prefix: string | undefined;
  for (;;) {
    if (Date.now() > end) throw new Error(`the add of ${id} never wrote to its image`);
    try {
      prefix ??= (JSON.parse(await run('rbd', [...auth, 'info', '--format', 'json', `${env['CEPH_POOL']}/${id}`])) as { block_name_prefix: string }).block_name_prefix;
      if ((await run('rados', [...auth, '-p', env['CEPH_POOL']!, 'ls'])).includes(`${prefix}.`)) return;
    } catch {
      // Not created yet.
    }
    await sleep(100);
  }
}

/**
 * A store whose monitor and OSD calls are bounded at OSD_TIMEOUT, so the add
 * cases stay short; connected afresh for each case (a store that was idle
 * while the OSD restarted times out its first call: docs/failures.md).
 */
async function quickStore(): Promise<MultiStore> {
  const ms = await MultiStore.create(parseConfig(rbdConf(cluster!, [`rados_osd_op_timeout = ${OSD_TIMEOUT}`, `rados_mon_op_timeout = ${OSD_TIMEOUT}`])), {
    // Retried every 2 s at most: the reclaimer's removal is found soon after the restart.
    reclaim: { maxPauseMs: 2_000 },
  });
  opened.push(ms);
  return ms;
}
/** The stores quickStore made, closed after the tests. */
const opened: MultiStore[] = [];

async function run(cmd: string, args: string[]): Promise<string> {
  return (await execFileAsync(cmd, args, { encoding: 'utf8', timeout: 10_000 })).stdout;
}

describe.skipIf(!cluster)('rbd store, bluestore OSD killed (SIGKILL) and restarted', () => {
  /** Every option at its default. */
  let plain: MultiStore;
  /** An image stored before any kill, and its checksum. */
  let kept: { location: string; checksum: string };

  beforeAll(async () => {
    plain = await MultiStore.create(parseConfig(rbdConf(cluster!)));
    const r = await plain.add(randomUUID(), randomBytes(12 * MiB + 7));
    kept = { location: r.location, checksum: r.checksum };
  });
  afterAll(async () => {
    if (kept) await plain.delete(kept.location).catch(() => undefined);
    await plain?.close();
    for (const ms of opened) await ms.close();
  });

  it('a get whose OSD is killed, default options, errors with BackendUnavailable naming the store within rados_osd_op_timeout, never hangs or ends short', async () => {
    const bytes = randomBytes(48 * MiB);
    const r = await plain.add(randomUUID(), bytes);
    const { stream } = await plain.get(r.location);
    const { read, error, faultAt: killedAt, erredAt } = await withFault(OSD, () => readWithFault(stream, bytes.length, 0.25, () => kill(OSD)));
    expect(killedAt).toBeGreaterThan(0);
    expect(read).toBeLessThan(bytes.length);
    expect(error).toMatchObject({ code: 'BackendUnavailable', message: expect.stringMatching(/store fast did not answer in time \(ETIMEDOUT\)/) });
    const settle = erredAt - killedAt;
    console.log(`get, OSD killed: the stream erred ${(settle / 1000).toFixed(1)} s after the kill (rados_osd_op_timeout ${DEFAULT_OSD_TIMEOUT} s)`);
    // The reads in flight at the kill fail at their timeout; one sent just before it at most one more.
    expect(settle).toBeLessThan((2 * DEFAULT_OSD_TIMEOUT + 2) * 1000);

    // The OSD back, the same location reads in full.
    expect(md5(await readAll((await plain.get(r.location)).stream))).toBe(r.checksum);
    await plain.delete(r.location);
  });

  it('an add whose OSD is killed fails with a library error within its timeouts; once the OSD is back nothing is left and the same MultiStore adds again', async () => {
    const quick = await quickStore();
    const id = randomUUID();
    const bytes = randomBytes(20 * MiB);
    let killedAt = 0;
    let error: unknown;
    let settle = 0;
    await withFault(OSD, async () => {
      error = await quick
        .add(
          id,
          source(bytes, async (off) => {
            if (killedAt || off < 0.4 * bytes.length) return;
            await writing(id);
            await kill(OSD);
            killedAt = Date.now();
          }),
        )
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      settle = Date.now() - killedAt;
      // What the add wrote is the reclaimer's until the OSD answers.
      expect(quick.pendingCleanups()).toMatchObject([{ store: 'fast', kind: 'image' }]);
      expect(quick.pendingCleanups()[0]!.location).toContain(id);
    });
    console.log(`add, OSD killed: failed ${(settle / 1000).toFixed(1)} s after the kill (rados_osd_op_timeout ${OSD_TIMEOUT} s)`);
    expect(error).toMatchObject({ code: 'BackendUnavailable', message: expect.stringMatching(/store fast did not answer in time \(ETIMEDOUT\)/) });
    // The writes in flight, the image's close and the first removal attempt, each bounded by the
    // timeout: the add does not wait for the OSD.
    expect(settle).toBeLessThan((4 * OSD_TIMEOUT + 2) * 1000);

    await eventually("the failed add's image removed by the reclaimer", () => quick.pendingCleanups().length === 0, RECOVERY_MS);
    expect(stored(cluster!, id)).toEqual([]);

    const again = randomBytes(12 * MiB + 5);
    const r = await quick.add(randomUUID(), again);
    expect(md5(await readAll((await quick.get(r.location)).stream))).toBe(md5(again));
    await quick.delete(r.location);
  });

  it('an add aborted while its OSD is killed settles as Aborted within 3 s, and leaves nothing once the OSD is back', async () => {
    const quick = await quickStore();
    const id = randomUUID();
    const bytes = randomBytes(20 * MiB);
    await withFault(OSD, async () => {
      const { error, abortedAt, settledAt } = await addAbortedInFault(quick, id, bytes, () => kill(OSD), () => writing(id));
      expect(error).toMatchObject({ code: 'Aborted' });
      console.log(`add aborted, OSD killed: settled ${((settledAt - abortedAt) / 1000).toFixed(2)} s after the abort`);
      expect(settledAt - abortedAt).toBeLessThan(3_000);
      expect(quick.pendingCleanups()).toMatchObject([{ store: 'fast', kind: 'image' }]);
    });
    await eventually("the aborted add's image removed by the reclaimer", () => quick.pendingCleanups().length === 0, RECOVERY_MS);
    expect(stored(cluster!, id)).toEqual([]);
  });

  it('an image stored before the kills reads back byte for byte after the restarts', async () => {
    const back = await readAll((await plain.get(kept.location)).stream);
    expect(back.length).toBe(12 * MiB + 7);
    expect(md5(back)).toBe(kept.checksum);
  });
});
